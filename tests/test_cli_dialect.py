"""One CLI dialect (issue 16): every command's `--help` exits 0, every command that reports prints
valid JSON on stdout with `--json` (and nothing else there), global options go before the
subcommand, dataset ids are accepted as aliases, and dataset cards keep their layout."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from tests.conftest import PROJECT_ROOT, copy_workspace_files
from tests.mdb_fixtures import make_mdb_tree

DAY_ONE, DAY_TWO = "2026-03-01", "2026-03-02"


def every_command() -> list[tuple[str, ...]]:
    words: list[tuple[str, ...]] = []
    for name, spec in cli.COMMANDS.items():
        if isinstance(spec, dict):
            words.append((name,))
            words += [(name, sub) for sub in spec]
            words += [(name, alias) for alias in cli.ALIASES.get(name, {})]
        else:
            words.append((name,))
    return words


# Commands that report something, with the arguments of one run in the generated workspace, in
# the order they run (later ones read what earlier ones wrote). `--json` is appended to each.
REPORTING_RUNS: list[tuple[str, ...]] = [
    ("ingest", "egmd", "--date", DAY_ONE),
    ("ingest", "egmd", "--shard", "1/2", "--output", "scratch/egmd_events.jsonl",
     "--sessions", "scratch/egmd_sessions.jsonl", "--provenance", "scratch/egmd_provenance.jsonl"),
    ("ingest", "egmd", "--shard", "2/2", "--output", "scratch/egmd_events.jsonl",
     "--sessions", "scratch/egmd_sessions.jsonl", "--provenance", "scratch/egmd_provenance.jsonl"),
    ("merge", "scratch/egmd_events.shard-1-of-2.jsonl", "scratch/egmd_events.shard-2-of-2.jsonl",
     "--output", "scratch/merged_events.jsonl"),
    ("ingest", "cambridge", "--date", DAY_ONE),
    ("events", "cambridge"),
    ("ingest", "musdb_hq", "--date", DAY_ONE),
    ("ingest", "mdb_drums", "--date", DAY_ONE),
    ("checksums", "generate", "egmd"),
    ("checksums", "verify", "egmd"),
    ("crash-map",),
    ("health", "--events", "data/manifests/egmd_events.jsonl", "--date", DAY_ONE),
    ("health", "--events", "data/manifests/egmd_events.jsonl", "--date", DAY_TWO),
    ("health", "--events", "data/manifests/cambridge_events.jsonl", "--date", DAY_TWO),
    ("weights", "--events", "data/manifests/egmd_events.jsonl", "--date", DAY_TWO),
    ("diff", "reports/health/egmd_20260301.json", "reports/health/egmd_20260302.json"),
    ("compare", "reports/health/egmd_20260302.json", "reports/health/cambridge_20260302.json"),
    ("combine", "--date", DAY_TWO),
    ("docs", "--date", DAY_TWO),
    ("repro", "--dry-run", "--date", DAY_TWO),
    ("stems", "01_KickIn.wav", "02_Snare MTP 440.wav"),
]
# Reporting commands whose --json needs a git history or a GitHub API: proven in their own tests.
JSON_PROVEN_ELSEWHERE = {
    "pr-report": "tests/test_pr_report.py (run_report ... --json)",
    "comment": "tests/reliability/test_security_comment.py (post ... --json)",
    "migrate": "tests/test_migrate_cli.py (migrate ... --json)",
}
# Commands that only act (write scaffolding, install hooks, gate a commit): their output is for a person.
NOT_REPORTING = {"demo", "init", "init-hooks", "hook"}


def command_key(words: tuple[str, ...]) -> str:
    return words[0] if not isinstance(cli.COMMANDS.get(words[0]), dict) else " ".join(words[:2])


@pytest.mark.parametrize("words", every_command(), ids=" ".join)
def test_every_command_and_group_has_help_exiting_0(words: tuple[str, ...], capsys: pytest.CaptureFixture) -> None:
    assert cli.main([*words, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: drumgate")
    spec = cli.COMMANDS.get(words[0])
    if isinstance(spec, dict) and len(words) == 1:
        for sub, (_, text) in spec.items():
            assert f"  {sub}" in out and text in out


def test_a_group_without_its_subcommand_is_a_usage_error_naming_them(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["hook"]) == 2
    err = capsys.readouterr().err
    assert "schema, taxonomy, checksums, freshness, licences" in err and "drumgate hook --help" in err


def test_dataset_card_help_keeps_its_layout(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["ingest", "egmd", "--help"]) == 0
    out = capsys.readouterr().out
    assert "\nDataset card\n------------\n- Origin: Google Magenta." in out
    assert "\nWhat this ingestor writes\n-------------------------\n" in out


def test_weights_scheme_has_an_explained_default(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["weights", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default effective: Cui et al.'s effective number" in help_text


def test_every_command_is_classified_for_json() -> None:
    covered = {command_key(run) for run in REPORTING_RUNS} | set(JSON_PROVEN_ELSEWHERE)
    covered |= {"ingest musdb"}  # run through its alias musdb_hq
    for words in every_command():
        key = command_key(words)
        if words[0] in NOT_REPORTING or (len(words) == 1 and isinstance(cli.COMMANDS[words[0]], dict)):
            continue
        if words[0] in cli.ALIASES and words[1] in cli.ALIASES[words[0]]:
            continue
        assert key in covered, f"{key}: add a --json run to REPORTING_RUNS or classify it"


@pytest.fixture(scope="module")
def generated_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The conftest `workspace` (configs + licence notes) with small generated corpora of the three datasets."""
    root = tmp_path_factory.mktemp("dialect") / "ws"
    copy_workspace_files(root)
    raw = root / "data" / "raw"
    make_egmd_corpus(raw / "egmd", seed=3)
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=3)
    make_musdb_corpus(raw / "musdb_hq", seed=3, seconds=2.0)
    make_mdb_tree(raw / "mdb_drums")
    (root / "scratch").mkdir()
    yield root


@pytest.fixture(scope="module")
def json_runs(generated_workspace: Path) -> dict[tuple[str, ...], tuple[int, str, str]]:
    """Each reporting run in order, from the workspace folder: (exit code, stdout, stderr)."""
    patch = pytest.MonkeyPatch()
    patch.chdir(generated_workspace)
    patch.delenv("DRUMGATE_WORKSPACE", raising=False)
    patch.setenv("CI", "true")
    results = {}
    try:
        for run in REPORTING_RUNS:
            results[run] = _captured(lambda argv=[*run, "--json"]: cli.main(argv))
    finally:
        patch.undo()
    return results


def _captured(action: object) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = action()  # type: ignore[operator]
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("run", REPORTING_RUNS, ids=" ".join)
def test_json_prints_one_document_on_stdout(
    run: tuple[str, ...], json_runs: dict[tuple[str, ...], tuple[int, str, str]]
) -> None:
    code, out, err = json_runs[run]
    assert code in (0, 1), f"{run}: exit {code}\n{err}"
    document = json.loads(out)
    assert isinstance(document, dict) and document, out


def test_json_documents_carry_the_results(json_runs: dict[tuple[str, ...], tuple[int, str, str]]) -> None:
    def first(*prefix: str) -> dict:
        return next(json.loads(out) for run, (_, out, _) in json_runs.items() if run[: len(prefix)] == prefix)

    egmd = first("ingest", "egmd")
    assert egmd["renders"] == 8 and egmd["events"] > 0
    assert "data/manifests/egmd_events.jsonl" in egmd["written"]
    cambridge = first("ingest", "cambridge")
    assert cambridge["sessions"] == sum(cambridge["by_status"].values()) > 0
    assert first("checksums", "verify")["verified"] == first("checksums", "generate")["entries"] > 0
    merged = first("merge")["merged"]
    assert merged == [{"path": "scratch/merged_events.jsonl", "rows": egmd["events"], "shards": 2}]
    assert first("diff")["inputs"]["head"] == "reports/health/egmd_20260302.json"
    assert first("combine")["written"][0] == "data/manifests/prod_combined_events.json"
    assert {step["stage"] for step in first("repro")["steps"]} >= {"ingest", "checksums"}


def test_global_options_before_the_subcommand(generated_workspace: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    events = str(generated_workspace / "data/manifests/egmd_events.jsonl")
    out = tmp_path / "health.json"
    argv = ["health", "--events", events, "--output", str(out), "--date", DAY_TWO, "--json"]
    assert cli.main(["--workspace", str(generated_workspace), *argv]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["dataset"] == "egmd"
    assert cli.main([f"--workspace={generated_workspace}", *argv]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["dataset"] == "egmd"


def test_dataset_ids_are_accepted_where_short_names_are(json_runs: dict, capsys: pytest.CaptureFixture,
                                                       generated_workspace: Path) -> None:
    assert cli.main(["--workspace", str(generated_workspace), "checksums", "verify", "musdb", "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["dataset"] == "musdb_hq"


def playbook_commands() -> list[str]:
    """Every `drumgate ...` or `python -m ...` command in docs/playbook.md (the part after a pipe)."""
    text = (PROJECT_ROOT / "docs" / "playbook.md").read_text(encoding="utf-8")
    commands = []
    for code in re.findall(r"`([^`]+)`", text):
        command = code.replace("\\|", "|").rsplit("| ", 1)[-1].strip()
        if command.startswith(("drumgate ", "python -m ")) and "..." not in command:
            commands.append(command)
    return commands


def test_the_playbook_names_every_track() -> None:
    text = (PROJECT_ROOT / "docs" / "playbook.md").read_text(encoding="utf-8")
    for heading in ("## 1. Cambridge", "## 2. MUSDB18-HQ", "## 3. E-GMD", "## 4. Consolidation"):
        assert heading in text
    assert len(playbook_commands()) >= 30


@pytest.mark.parametrize("command", playbook_commands())
def test_every_playbook_command_parses(command: str) -> None:
    words = shlex.split(command)
    if words[0] == "python":  # `python -m ingest.<ds>` runs the command `drumgate ingest <ds>` runs
        module, argv = cli.load_command(cli.COMMANDS["ingest"][words[2].removeprefix("ingest.")][0]), words[3:]
    else:
        leading, rest = cli.split_global_options(words[1:])
        spec = cli.COMMANDS[rest[0]]
        if isinstance(spec, dict):
            sub = cli.ALIASES.get(rest[0], {}).get(rest[1], rest[1])
            spec, rest = spec[sub], rest[1:]
        assert isinstance(spec, tuple)
        module, argv = cli.load_command(spec[0]), [*leading, *rest[1:]]
    cli.build_parser(module, "drumgate").parse_args(argv)


def test_building_the_drum_templates_shows_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first MUSDB stage used to sit silent while the templates were rendered (issue 16)."""
    from drumgate.signal import transcribe
    from tests.test_health_progress import _terminal

    terminal = _terminal(monkeypatch)
    key = transcribe._spectrogram_key(transcribe.TranscribeParams())
    templates = transcribe._generated_templates.__wrapped__(key)
    renders = len(transcribe.TEMPLATE_CLASSES) * len(transcribe.TEMPLATE_SEEDS)
    assert len(templates) == len(transcribe.TEMPLATE_CLASSES)
    assert "building drum templates" in terminal.getvalue()
    # the bar counts the renders; how many updates tqdm draws depends on speed, so only its total is checked
    assert re.search(rf"\b[0-9]+/{renders} ", terminal.getvalue()), terminal.getvalue()


def test_repro_reruns_old_diff_locks_in_todays_spelling() -> None:
    from drumgate.commands.repro import current_spelling

    old = ("diff", "a.json", "b.json", "--json", "d.json", "--markdown", "d.md")
    new = current_spelling(old)
    assert new == ("diff", "a.json", "b.json", "--json-output", "d.json", "--markdown-output", "d.md")
    assert current_spelling(("health", "--events", "e.jsonl", "--json")) == ("health", "--events", "e.jsonl", "--json")
    parsed = cli.build_parser(importlib.import_module("drumgate.cli.diff"), "drumgate diff").parse_args(list(new[1:]))
    assert (str(parsed.json_output), str(parsed.markdown_output), parsed.json) == ("d.json", "d.md", False)


def test_ingest_cambridge_takes_root_and_date_like_the_others(
    generated_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    moved = tmp_path / "cambridge_copy"
    shutil.copytree(generated_workspace / "data" / "raw" / "cambridge", moved)
    sessions_there = sorted(moved.iterdir())
    shutil.rmtree(sessions_there[0]) if sessions_there[0].is_dir() else sessions_there[0].unlink()
    monkeypatch.chdir(generated_workspace)
    argv = ["ingest", "cambridge", "--root", str(moved), "--date", DAY_TWO, "--output", "scratch/cam_sessions.jsonl",
            "--provenance", "scratch/cam_provenance.jsonl", "--json"]
    assert cli.main(argv) in (0, 1)
    result = json.loads(capsys.readouterr().out)
    assert result["written"] == ["scratch/cam_sessions.jsonl", "scratch/cam_provenance.jsonl"]
    provenance = generated_workspace / "scratch/cam_provenance.jsonl"
    rows = [json.loads(line) for line in provenance.read_text(encoding="utf-8").splitlines()]
    primary = [row for row in rows if row["tier"] == "primary"]
    assert primary and {row["ingest_date"] for row in rows} == {DAY_TWO}
    assert result["by_tier"]["primary"] == len(primary) == len(sessions_there) - 1
    lock = json.loads((generated_workspace / "data/locks/cambridge.lock.json").read_text())
    command = lock["artifacts"]["scratch/cam_sessions.jsonl"]["command"]
    assert f"--root {moved}" in command and f"--date {DAY_TWO}" in command


@pytest.mark.parametrize("argv", [["ingest", "egmd", "--jobs", "0"], ["health", "--layout", "weird"],
                                  ["checksums", "generate"], ["weights", "--no-such-flag"]])
def test_a_usage_error_is_one_line_whose_fix_shows_the_help(argv: list[str], capsys) -> None:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and captured.out == "", captured.err
    fix = lines[0].rsplit("(fix: ", 1)[1].removesuffix(")")
    assert fix.startswith("drumgate ") and fix.endswith(" --help")
    assert cli.main(shlex.split(fix)[1:]) == 0
    assert capsys.readouterr().out.startswith("usage: drumgate")

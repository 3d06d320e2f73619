"""`drumgate health` / `python -m drumgate.cli.health`: outputs, exit codes, messages, lineage."""

from __future__ import annotations

import gzip
import json
import re
import shlex
import subprocess

import pytest

from drumgate import cli
from drumgate.cli import health as health_cmd
from drumgate.cli import weights as weights_cmd
from drumgate.fixtures.health_events import event, event_rows, session_rows
from drumgate.io.jsonio import read_json, write_jsonl
from drumgate.lineage import check as lineage_check
from drumgate.lineage import read_lock
from drumgate.workspace import Workspace


def _write_corpus(workspace: Workspace, events: int = 3000) -> None:
    write_jsonl(workspace.events_manifest("egmd"), event_rows(events, sessions=20, seed=3))
    write_jsonl(workspace.sessions_manifest("egmd"), session_rows(20, seed=3))


def test_passing_report_writes_json_html_and_lineage(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    _write_corpus(workspace)
    code = health_cmd.main(["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01"])
    out, err = capsys.readouterr()
    assert code == 0, err
    json_path = workspace.health_report("egmd", "20240501")
    html_path = workspace.health_report("egmd", "20240501", "html")
    report = read_json(json_path)
    assert report["status"] == "pass"
    assert report["source"] == {
        "events": "data/manifests/egmd_events.jsonl",
        "sessions": "data/manifests/egmd_sessions.jsonl",
    }
    assert report["totals"]["events"] == 3000
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "egmd: 3000 events, 20 sessions" in out
    lock = read_lock(workspace, "egmd")
    entry = lock["artifacts"]["reports/health/egmd_20240501.json"]
    assert entry["command"] == (
        "drumgate health --events data/manifests/egmd_events.jsonl --dataset egmd "
        "--sessions data/manifests/egmd_sessions.jsonl --output reports/health/egmd_20240501.json "
        "--html-output reports/health/egmd_20240501.html --date 2024-05-01"
    )
    assert "data/manifests/egmd_events.jsonl" in entry["inputs"]
    assert "configs/technique_taxonomy.json" in entry["inputs"]
    assert "reports/health/egmd_20240501.html" in lock["artifacts"]
    assert lineage_check(workspace, "egmd") == []


def test_run_from_a_subfolder_records_the_command_as_run_from_the_workspace(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_corpus(workspace)
    monkeypatch.chdir(workspace.root / "data" / "manifests")
    assert health_cmd.main(["--events", "egmd_events.jsonl", "--date", "2024-05-01"]) == 0
    entry = read_lock(workspace, "egmd")["artifacts"]["reports/health/egmd_20240501.json"]
    assert entry["command"].startswith("drumgate health --events data/manifests/egmd_events.jsonl ")  # repro's cwd


def test_events_reached_through_a_link_to_the_workspace_are_recorded_as_its_own(
    workspace: Workspace, tmp_path
) -> None:
    _write_corpus(workspace)
    alias = tmp_path / "alias"
    alias.symlink_to(workspace.root, target_is_directory=True)
    assert health_cmd.main(["--events", str(alias / "data/manifests/egmd_events.jsonl"), "--date", "2024-05-01"]) == 0
    entry = read_lock(workspace, "egmd")["artifacts"]["reports/health/egmd_20240501.json"]
    assert entry["command"].startswith("drumgate health --events data/manifests/egmd_events.jsonl ")
    assert "data/manifests/egmd_events.jsonl" in entry["inputs"]  # so a change to it makes the report stale


def test_rerun_is_byte_identical(workspace: Workspace) -> None:
    _write_corpus(workspace, 500)
    argv = ["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01", "--vocabulary", "adtof5"]
    health_cmd.main(argv)
    first = [workspace.health_report("egmd", "20240501", ext).read_bytes() for ext in ("json", "html")]
    health_cmd.main(argv)
    second = [workspace.health_report("egmd", "20240501", ext).read_bytes() for ext in ("json", "html")]
    assert first == second


def test_failing_gate_exits_1_and_names_each_gate(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    _write_corpus(workspace)
    code = health_cmd.main(
        [
            "--events",
            "data/manifests/egmd_events.jsonl",
            "--date",
            "2024-05-01",
            "--require-class",
            "clap",
            "--require-technique",
            "rimshot=100000",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1
    report = read_json(workspace.health_report("egmd", "20240501"))
    rimshots = report["techniques"]["rimshot"]
    shown = "reports/health/egmd_20240501.json"
    assert err.splitlines() == [
        f"{shown}: gate min_class_events[clap]: observed 0 vs threshold 1 (set by --require-class)",
        f"{shown}: gate min_technique_events[rimshot]: observed {rimshots} vs threshold 100000"
        " (set by --require-technique)",
    ]


def test_failing_configured_gate_names_its_config_line(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    """A threshold from configs/datasets.toml is named at its line and table, an alias included, with the report."""
    _write_corpus(workspace)
    config = workspace.configs / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    lines = text.splitlines()
    table = lines.index("[datasets.egmd.gates]")
    row = next(i for i in range(table, len(lines)) if lines[i].startswith("min_class_events"))
    lines[row] = "min_class_events = { bd = 100000 }"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = health_cmd.main(["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    kick = read_json(workspace.health_report("egmd", "20240501"))["classes"]["kick"]
    assert (f"configs/datasets.toml:{row + 1}: [datasets.egmd.gates] gate min_class_events[kick]: observed {kick}"
            " vs threshold 100000 (report: reports/health/egmd_20240501.json)") in err


def test_a_dotted_gate_is_named_at_its_own_line(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    """`min_class_events.kick = ...` after `min_class_events.snare = ...`: the kick line, not the first dotted
    one; a class spelled twice is the config's (the last spelling wins, as the gates merge it)."""
    _write_corpus(workspace)
    config = workspace.configs / "datasets.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    table = lines.index("[datasets.egmd.gates]")
    row = next(i for i in range(table, len(lines)) if lines[i].startswith("min_class_events"))
    lines[row:row + 1] = ["min_class_events.snare = 1", "min_class_events.bd = 5", "min_class_events.kick = 100000"]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert health_cmd.main(["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01"]) == 1
    err = capsys.readouterr().err.splitlines()
    kick = read_json(workspace.health_report("egmd", "20240501"))["classes"]["kick"]
    assert (f"configs/datasets.toml:{row + 3}: [datasets.egmd.gates] gate min_class_events[kick]: observed {kick}"
            " vs threshold 100000 (report: reports/health/egmd_20240501.json)") in err


def test_gzip_events_explicit_dataset_outputs_and_json(
    workspace: Workspace, tmp_path, capsys: pytest.CaptureFixture
) -> None:
    events = tmp_path / "shard.jsonl.gz"
    write_jsonl(events, [event("a", "kick", index=i) for i in range(60)] + [event("b", "snare", "test")])
    out_json = tmp_path / "out" / "r.json"
    code = health_cmd.main(
        ["--events", str(events), "--dataset", "musdb_hq", "--output", str(out_json), "--json", "--date", "2024-01-02"]
    )
    out, _ = capsys.readouterr()
    assert code == 1
    printed = json.loads(out)
    assert printed == read_json(out_json)
    assert printed["dataset"] == "musdb_hq"
    assert (tmp_path / "out" / "r.html").is_file()
    assert gzip.open(events).read(1) == b"{"


def test_dataset_cannot_be_inferred(workspace: Workspace, tmp_path, capsys: pytest.CaptureFixture) -> None:
    events = tmp_path / "events.jsonl"
    write_jsonl(events, [event()])
    assert health_cmd.main(["--events", str(events)]) == 2
    assert "cannot tell the dataset from the file name" in capsys.readouterr().err


def test_dataset_not_in_the_name_is_refused_with_the_typed_command_plus_dataset(
    workspace: Workspace, tmp_path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "my data"
    write_jsonl(folder / "all.jsonl", event_rows(3000, sessions=20, seed=3))
    write_jsonl(folder / "s.jsonl", session_rows(20, seed=3))
    typed = ["health", "--events", str(folder / "all.jsonl"), "--sessions", str(folder / "s.jsonl"),
             "--date", "2024-05-01"]
    assert cli.main(typed) == 2
    err = capsys.readouterr().err.strip()
    found = re.fullmatch(r"(\S.*): cannot tell the dataset from the file name \(fix: (.+)\)", err)
    assert found is not None, err
    assert found.group(1) == str(folder / "all.jsonl")
    fix = shlex.split(found.group(2))
    # the rows' dataset (egmd), not the first configured one (cambridge); a file outside the workspace
    # is reported outside it too, so the fix writes beside it (tests/test_outside_inputs.py)
    scratch = folder / "all_health_20240501.json"
    assert fix == ["drumgate", *typed, "--output", str(scratch), "--dataset", "egmd"], found.group(2)
    assert cli.main(fix[1:]) == 0, capsys.readouterr().err
    assert read_json(scratch)["totals"]["events"] == 3000
    assert not workspace.health_report("egmd", "20240501").exists()


def test_malformed_rows_give_path_line_and_exit_2(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    path = workspace.events_manifest("egmd")
    path.parent.mkdir(parents=True, exist_ok=True)
    good = json.dumps(event())
    missing_label = json.dumps({k: v for k, v in event().items() if k != "label"})
    path.write_text("\n".join([good, "{not json", good, missing_label, good]) + "\n", encoding="utf-8")
    code = health_cmd.main(["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err[0].startswith("data/manifests/egmd_events.jsonl:2: invalid JSON")  # from the folder it ran in
    assert err[1].startswith("data/manifests/egmd_events.jsonl:4: event row lacks field 'label'")
    assert not workspace.health_report("egmd", "20240501").exists()


def test_bad_requirement_and_missing_file(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    _write_corpus(workspace, 100)
    events = "data/manifests/egmd_events.jsonl"
    assert health_cmd.main(["--events", events, "--require-class", "kick=lots"]) == 2
    assert "N must be a whole number" in capsys.readouterr().err
    assert health_cmd.main(["--events", "data/manifests/cambridge_events.jsonl"]) == 2
    assert "file not found" in capsys.readouterr().err
    assert health_cmd.main(["--events", events, "--vocabulary", "nope"]) == 2
    assert "unknown vocabulary 'nope'" in capsys.readouterr().err


def test_a_workspace_path_typed_in_a_subfolder_is_pointed_at(workspace: Workspace, capsys: pytest.CaptureFixture,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """drumgate prints workspace-relative paths; copied into a subfolder, the path is not found there."""
    _write_corpus(workspace, 100)
    monkeypatch.chdir(workspace.root / "data")
    assert health_cmd.main(["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01"]) == 2
    assert capsys.readouterr().err == (
        "data/manifests/egmd_events.jsonl: file not found (fix: pass --events manifests/egmd_events.jsonl"
        " (paths you type are relative to the current folder))\n")
    assert health_cmd.main(["--events", "manifests/egmd_events.jsonl", "--date", "2024-05-01"]) in (0, 1)


def test_console_script_dispatches_to_health(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    from drumgate import cli

    _write_corpus(workspace, 500)
    code = cli.main(["health", "--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "health"


def test_a_readers_damaged_file_prose_becomes_a_fix_that_names_commands(workspace: Workspace) -> None:
    from drumgate.errors import REGENERATE_HINT, DrumgateError
    from drumgate.reports.report_io import ErrorCollector

    events = workspace.root / "data" / "manifests" / "egmd_events.jsonl.gz"
    bare = ErrorCollector(events, workspace)  # not committed, no lock: nothing better than the reader's words
    bare(DrumgateError("damaged gzip stream", path=events, hint=REGENERATE_HINT))
    assert bare.errors[0].hint == REGENERATE_HINT
    events.parent.mkdir(parents=True, exist_ok=True)
    events.write_bytes(b"\x1f\x8b damaged")
    workspace.lock_file("egmd").parent.mkdir(parents=True, exist_ok=True)
    recorded = {"artifacts": {"data/manifests/egmd_events.jsonl.gz": {"command": "drumgate ingest egmd"}}}
    workspace.lock_file("egmd").write_text(json.dumps(recorded), encoding="utf-8")  # repro can write it again
    for argv in (["init", "-q"], ["add", "-f", str(events)], ["-c", "user.name=t", "-c", "user.email=t@t.invalid",
                                                              "commit", "-qm", "events"]):
        subprocess.run(["git", *argv], cwd=workspace.root, check=True, capture_output=True)
    collect = ErrorCollector(events, workspace)
    collect(DrumgateError("damaged gzip stream", path=events, hint=REGENERATE_HINT))
    collect(DrumgateError("something else", path=events, hint="fix: drumgate ingest egmd"))
    # committed damaged: checking HEAD's copy out would change nothing, so only repro is offered
    assert [error.hint for error in collect.errors] == ["fix: drumgate repro egmd to write it again",
                                                        "fix: drumgate ingest egmd"]
    events.write_bytes(b"\x1f\x8b damaged after the commit")
    after = ErrorCollector(events, workspace)
    after(DrumgateError("damaged gzip stream", path=events, hint=REGENERATE_HINT))
    assert [error.hint for error in after.errors] == [
        "fix: git checkout HEAD -- data/manifests/egmd_events.jsonl.gz to restore it, or drumgate repro egmd"
        " to write it again",
    ]


def test_health_without_a_sessions_inventory_says_why_hours_are_zero(workspace: Workspace, tmp_path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    _write_corpus(workspace, events=300)
    copy = tmp_path / "egmd_events.jsonl"
    copy.write_bytes((workspace.root / "data" / "manifests" / "egmd_events.jsonl").read_bytes())
    health_cmd.main(["--events", str(copy), "--output", str(tmp_path / "r.json"), "--date", "2026-01-02"])
    out = capsys.readouterr().out
    assert "note: no egmd_sessions.jsonl beside the events, so hours and missing audio read as 0" in out


def test_a_missing_path_typed_with_a_tilde_gets_a_fix_that_runs(
    workspace: Workspace, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert health_cmd.main(["--events", "~/nope_events.jsonl"]) == 2
    assert f"(fix: ls {tmp_path} and pass one of its <ds>_events.jsonl)" in capsys.readouterr().err


def test_a_folder_that_is_no_events_manifest_is_worded_as_such(workspace: Workspace, capsys) -> None:
    _write_corpus(workspace, events=30)
    assert health_cmd.main(["--events", "data/manifests", "--date", "2024-05-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("data/manifests: a folder, not an events manifest (fix: ls "
                        f"{workspace.root / 'data' / 'manifests'} and pass one of its <ds>_events.jsonl)"), err


def test_an_empty_folder_where_the_manifest_goes_is_removed_before_the_repro(workspace: Workspace, capsys) -> None:
    """`drumgate repro egmd` alone refused to write the file over the folder."""
    manifest = workspace.events_manifest("egmd")
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.mkdir()
    assert health_cmd.main(["--events", str(manifest), "--date", "2024-05-01"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"(fix: rmdir {manifest}, then drumgate repro egmd)")


@pytest.mark.parametrize("command", ["health", "weights"])
def test_another_datasets_manifest_is_refused_before_it_is_judged_by_the_wrong_gates(
        workspace: Workspace, capsys: pytest.CaptureFixture, command: str) -> None:
    """`--dataset musdb_hq` on E-GMD's events (or E-GMD's sessions for MUSDB) passed MUSDB's gates
    with E-GMD's numbers and wrote the report as MUSDB's; `weights` wrote E-GMD's weights as MUSDB's."""
    main = {"health": health_cmd.main, "weights": weights_cmd.main}[command]
    _write_corpus(workspace)
    events, sessions = "data/manifests/egmd_events.jsonl", "data/manifests/egmd_sessions.jsonl"
    assert main(["--events", events, "--dataset", "musdb_hq", "--date", "2024-05-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"egmd_events.jsonl: egmd's events manifest, given for musdb_hq (fix: drumgate {command}"
                        f" --events {events} to run it on egmd, or pass musdb_hq's own events manifest)"), err
    write_jsonl(workspace.events_manifest("musdb_hq"), event_rows(50, sessions=2, seed=4))
    musdb = "data/manifests/musdb_hq_events.jsonl"
    assert main(["--events", musdb, "--sessions", sessions, "--date", "2024-05-01"]) == 2
    assert "egmd's sessions manifest, given for musdb_hq" in capsys.readouterr().err
    assert not workspace.health_report("musdb_hq", "20240501").exists()
    assert not workspace.weights_report("musdb_hq", "20240501").exists()
    assert main(["--events", events, "--date", "2024-05-01"]) == 0  # the fix as printed


def test_a_gate_is_found_at_its_line_in_every_toml_spelling(tmp_path) -> None:
    """A commented-out key is skipped; a header with a comment, quoted and dotted keys and a sub-table are found."""
    from drumgate.config import line_of

    config = tmp_path / "datasets.toml"
    config.write_text(
        "[datasets.egmd.gates]  # raised\n# min_sessions = 2 (was)\nmin_sessions = 3\n\"leakage\" = true\n"
        "split_bounds.train = [0.5, 0.9]\n\n[ datasets.egmd.gates.min_class_events ]\n'bd' = 500\n",
        encoding="utf-8")
    table = "datasets.egmd.gates"
    found = [line_of(config, table, key) for key in ("min_sessions", "leakage", "split_bounds", "min_class_events")]
    assert found == [3, 4, 5, None]
    assert line_of(config, f"{table}.min_class_events", "bd") == 8


def test_the_missing_audio_gate_names_the_sessions_it_counted_escaped() -> None:
    """The fraction alone left a user to search the report for which sessions could not be read."""
    from drumgate.reports.gates import _unusable_sessions

    sessions = {f"s{i}": {"events": 0, "split": "train", "status": "unreadable"} for i in range(5)}
    sessions["ok_one"] = {"events": 9, "split": "train", "status": "ok"}
    sessions["evil\n::error::x"] = {"events": 0, "split": "train", "status": "missing_audio"}
    named = _unusable_sessions({"sessions": sessions})
    assert named == ("; sessions not read: evil\\n::error::x (missing_audio), s0 (unreadable), s1 (unreadable)"
                     " and 3 more")
    assert _unusable_sessions({"sessions": {"ok_one": sessions["ok_one"]}}) == ""


@pytest.mark.parametrize("command", [health_cmd, weights_cmd])
def test_a_damaged_lock_stops_the_command_before_it_writes(workspace: Workspace, capsys: pytest.CaptureFixture,
                                                           command) -> None:
    """The lock is written last: found damaged there, the reports were already written, left behind
    untracked and unrecorded (the next commit refused them as written by no drumgate)."""
    _write_corpus(workspace, events=300)
    events = str(workspace.events_manifest("egmd"))
    assert health_cmd.main(["--events", events, "--date", "2024-05-01"]) in (0, 1)
    before = sorted(p.name for p in workspace.root.joinpath("reports").rglob("*") if p.is_file())
    workspace.lock_file("egmd").write_text("")
    assert command.main(["--events", events, "--date", "2024-05-02"]) == 2
    assert "egmd.lock.json:1: invalid JSON" in capsys.readouterr().err
    assert sorted(p.name for p in workspace.root.joinpath("reports").rglob("*") if p.is_file()) == before

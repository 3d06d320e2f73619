"""Licence notes (issue 16): the hook asks only for the datasets the combined manifest actually
mixes, says each finding once, runs when only a note changes; every ingestor refuses an incomplete
note with one line through one shared policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from checks import check_licences
from drumgate import cli
from drumgate.commands.init_hooks import HOOKS
from drumgate.config import load_datasets
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.licences import REQUIRED_KEYS, unfinished_notes
from drumgate.workspace import Workspace
from tests.combine_fixtures import three_dataset_workspace
from tests.data_repo_support import commit_refused, copied_repo, drumgate, git, without_dataset

PROJECT = Path(__file__).resolve().parent.parent
COMBINED_FILES = ["data/manifests/prod_combined_events.json", "data/provenance/prod_combined_provenance.jsonl"]


def hook(ws: Workspace, files: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(["hook", "licences", "--workspace", str(ws.root), *[str(ws.root / name) for name in files]])
    return code, capsys.readouterr().err.splitlines()


def drop_field(note: Path, key: str) -> None:
    note.write_text(re.sub(rf"^{key}:.*\n", "", note.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")


@pytest.fixture
def egmd_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """E-GMD is the only dataset present; `[combined] mix` still names all three."""
    ws = three_dataset_workspace(tmp_path / "ws")
    monkeypatch.chdir(ws.root)
    for dataset in ("cambridge", "musdb_hq"):
        ws.events_manifest(dataset).unlink()
        ws.sessions_manifest(dataset).unlink()
    cli.main(["combine", "--workspace", str(ws.root), "--date", "2025-03-02"])
    for dataset in ("cambridge", "musdb_hq"):
        ws.licence_note(dataset).unlink()
    return ws


def test_combined_group_needs_only_the_datasets_combine_mixed(egmd_only: Workspace, capsys) -> None:
    assert hook(egmd_only, COMBINED_FILES, capsys) == (0, [])


def test_each_finding_is_said_once(egmd_only: Workspace, capsys) -> None:
    drop_field(egmd_only.licence_note("egmd"), "attribution")
    code, lines = hook(egmd_only, [*COMBINED_FILES, "data/manifests/egmd_events.jsonl"], capsys)
    assert code == 1
    assert lines == [
        "data/licenses/egmd.md: licence note incomplete: no attribution (fix: fill in attribution in its front matter)"
    ]


def test_an_empty_field_is_named_empty_in_the_hook_and_the_freshness_fix(egmd_only: Workspace, capsys) -> None:
    """A key left blank is not "no key"; the freshness hook's repro line starts with filling it in,
    since repro would stop at the note."""
    note = egmd_only.licence_note("egmd")
    note.write_text(re.sub(r"(?m)^commercial_use:.*$", "commercial_use:", note.read_text(encoding="utf-8")),
                    encoding="utf-8")
    code, lines = hook(egmd_only, ["data/licenses/egmd.md"], capsys)
    assert (code, lines) == (1, [
        "data/licenses/egmd.md: licence note incomplete: commercial_use empty"
        " (fix: fill in commercial_use in its front matter)"])
    assert unfinished_notes(egmd_only.root, ["data/licenses/egmd.md", "configs/datasets.toml"]) == (
        "fill in commercial_use in data/licenses/egmd.md, then ")
    drop_field(note, "commercial_use")
    lines = hook(egmd_only, ["data/licenses/egmd.md"], capsys)[1]
    assert lines[0].endswith("incomplete: no commercial_use (fix: fill in commercial_use in its front matter)")


def test_a_note_without_front_matter_comes_first_in_the_freshness_fix(egmd_only: Workspace) -> None:
    """repro stops at a note it cannot read: the repro line said to run it first, and it failed there."""
    note = egmd_only.licence_note("egmd")
    note.write_text(note.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert unfinished_notes(egmd_only.root, ["data/licenses/egmd.md"]) == (
        "mend data/licenses/egmd.md (the licences hook names what is wrong in it), then ")
    assert unfinished_notes(egmd_only.root, ["data/licenses/gone.md"]) == ""  # a deleted note: its own finding


def test_the_recorded_mix_is_read_not_the_config(egmd_only: Workspace, capsys) -> None:
    """A musdb_hq manifest that appears after combine ran is not in the combined manifest yet."""
    egmd_only.events_manifest("musdb_hq").write_text("", encoding="utf-8")
    assert hook(egmd_only, COMBINED_FILES, capsys) == (0, [])
    assert check_licences.recorded_mix(egmd_only, load_datasets(egmd_only)) == ["egmd"]


def test_a_changed_licence_note_alone_is_checked(egmd_only: Workspace, capsys) -> None:
    drop_field(egmd_only.licence_note("egmd"), "source")
    code, lines = hook(egmd_only, ["data/licenses/egmd.md"], capsys)
    assert code == 1 and len(lines) == 1 and "licence note incomplete: no source" in lines[0]


def test_the_hook_runs_on_licence_notes_serially_everywhere_it_is_declared() -> None:
    [entry] = [hook for hook in HOOKS if hook[0] == "drumgate-licences"]
    _, _, _, files, extra = entry
    assert re.search(files, "data/licenses/egmd.md") and "require_serial: true" in extra
    for config in (".pre-commit-config.yaml", ".pre-commit-hooks.yaml"):
        loaded = yaml.safe_load((PROJECT / config).read_text(encoding="utf-8"))
        hooks = loaded["repos"][0]["hooks"] if isinstance(loaded, dict) else loaded
        declared = next(h for h in hooks if h["id"] == "drumgate-licences")
        assert (declared["files"], declared["require_serial"]) == (files, True), config


def _egmd(ws: Workspace) -> list[str]:
    make_egmd_corpus(ws.root / "data" / "raw" / "egmd", seed=3, performances=2, kits=1)
    return ["ingest", "egmd", "--jobs", "1"]


def _musdb(ws: Workspace) -> list[str]:
    make_musdb_corpus(ws.root / "data" / "raw" / "musdb_hq", seed=3)
    return ["ingest", "musdb"]


def _cambridge(ws: Workspace) -> list[str]:
    raw = ws.root / "data" / "raw"
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=3)
    return ["ingest", "cambridge"]


@pytest.mark.parametrize(("dataset", "prepare"), [("egmd", _egmd), ("musdb_hq", _musdb), ("cambridge", _cambridge)])
def test_every_ingestor_refuses_an_incomplete_note(workspace: Workspace, capsys, dataset: str, prepare) -> None:
    argv = prepare(workspace)
    drop_field(workspace.licence_note(dataset), "redistribution")
    drop_field(workspace.licence_note(dataset), "source")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    rerun = "drumgate " + " ".join(argv[:2])
    assert err == (
        f"data/licenses/{dataset}.md: licence note incomplete: no redistribution, source; {rerun} refuses to "
        f"record an unreviewed licence (fix: fill in redistribution, source in its front matter, then rerun {rerun})"
    )
    assert not workspace.events_manifest(dataset).exists() and not workspace.sessions_manifest(dataset).exists()
    assert not workspace.provenance(dataset).exists()


def test_a_missing_note_drumgate_ships_terms_for_is_written_by_init(workspace: Workspace, capsys) -> None:
    """Outside git (or deleted in HEAD too) there is nothing to restore: `drumgate init` writes the
    publisher's terms drumgate ships for the dataset, and only what is absent."""
    argv = _egmd(workspace)
    workspace.licence_note("egmd").unlink()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == "data/licenses/egmd.md: licence note missing (fix: drumgate init, then rerun drumgate ingest egmd)"


def test_a_missing_note_of_its_own_names_every_field(workspace: Workspace, capsys) -> None:
    argv = _egmd(workspace)
    config = workspace.configs / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    assert 'licence_note = "data/licenses/egmd.md"' in text
    config.write_text(text.replace('"data/licenses/egmd.md"', '"data/licenses/egmd_terms.md"'), encoding="utf-8")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("data/licenses/egmd_terms.md: licence note missing") and ", ".join(REQUIRED_KEYS) in err


NEW_TABLE = """
[datasets.field_kit]
title = "Field recordings"
licence_note = "data/licenses/field_kit.md"
roots = [{ tier = "primary", path = "data/raw/field_kit" }]
"""


def _committed(ws: Workspace) -> None:
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "configs"]):
        assert git(ws.root, *args).returncode == 0


def test_a_dataset_table_added_without_its_licence_note_is_refused(workspace: Workspace, capsys) -> None:
    """A new `[datasets.<ds>]` whose note does not exist committed cleanly, and only its ingest refused.
    The note of each dataset the staged config adds against HEAD is checked; a shipped dataset's note
    comes back with `drumgate init`."""
    _committed(workspace)
    config = workspace.configs / "datasets.toml"
    config.write_text(config.read_text(encoding="utf-8") + NEW_TABLE, encoding="utf-8")
    code, lines = hook(workspace, ["configs/datasets.toml"], capsys)
    assert code == 1
    assert lines == ["data/licenses/field_kit.md: licence note for field_kit is missing (configs/datasets.toml adds"
                     " it) (fix: write data/licenses/field_kit.md with a front matter block (--- lines) holding "
                     + ", ".join(REQUIRED_KEYS) + ")"]
    (workspace.root / "data" / "licenses" / "field_kit.md").write_text(
        "---\n" + "".join(f"{key}: given\n" for key in REQUIRED_KEYS) + "---\n", encoding="utf-8")
    code, lines = hook(workspace, ["configs/datasets.toml"], capsys)
    assert (code, lines) == (1, ["data/licenses/field_kit.md: licence note for field_kit is not in the commit"
                                 " (configs/datasets.toml adds it) (fix: git add data/licenses/field_kit.md)"])
    assert git(workspace.root, "add", "data/licenses/field_kit.md").returncode == 0
    assert hook(workspace, ["configs/datasets.toml"], capsys)[0] == 0


def test_a_config_change_that_adds_no_dataset_asks_for_no_note(workspace: Workspace, capsys) -> None:
    """A note already missing at HEAD (a dataset configured, never ingested) is not this change's doing."""
    workspace.licence_note("cambridge").unlink()
    _committed(workspace)
    config = workspace.configs / "datasets.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("min_sessions = 2", "min_sessions = 3", 1),
                      encoding="utf-8")
    assert hook(workspace, ["configs/datasets.toml"], capsys) == (0, [])
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('licence_note = "data/licenses/egmd.md"', 'licence_note = "data/licenses/gmd.md"'),
                      encoding="utf-8")
    code, lines = hook(workspace, ["configs/datasets.toml"], capsys)
    assert code == 1 and lines[0].startswith("data/licenses/gmd.md: licence note for egmd is missing")


@pytest.mark.slow
def test_a_commit_adding_a_table_without_its_note_is_refused_by_the_hooks(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    config = repo / "configs" / "datasets.toml"
    config.write_text(config.read_text(encoding="utf-8") + NEW_TABLE, encoding="utf-8")
    refused = commit_refused(repo, "a new dataset", config)
    assert "data/licenses/field_kit.md: licence note for field_kit is missing (configs/datasets.toml adds it)" in (
        refused)


@pytest.mark.slow
def test_a_renamed_note_asks_only_for_repro(demo: Path, tmp_path: Path) -> None:
    """The hook asked for the old note back (`git checkout HEAD -- data/licenses/egmd.md`) although the
    config no longer names it: restoring it left a stray copy. Only what read it is stale."""
    repo = copied_repo(demo, tmp_path)
    assert git(repo, "mv", "data/licenses/egmd.md", "data/licenses/egmd_v1.md").returncode == 0
    config = repo / "configs" / "datasets.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("data/licenses/egmd.md", "data/licenses/egmd_v1.md"),
                      encoding="utf-8")
    refused = commit_refused(repo, "the egmd note renamed", config)
    assert "licence note deleted" not in refused and "checkout" not in refused, refused
    assert "drumgate repro egmd prod_combined" in refused, refused
    done = drumgate(repo, "repro", "egmd", "prod_combined")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "the egmd note renamed")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert not (repo / "data" / "licenses" / "egmd.md").exists()


def test_a_mixed_dataset_removed_from_the_config_needs_no_note(egmd_only: Workspace) -> None:
    """The combined lock still records E-GMD after its table is deleted: the hook asked for a licence_note
    in a section that no longer exists (repro of the combined group is what that commit needs)."""
    without_dataset(egmd_only.configs / "datasets.toml", "egmd")
    assert check_licences.recorded_mix(egmd_only, load_datasets(egmd_only)) == ["egmd"]
    assert check_licences.datasets_needing_notes(egmd_only, ["prod_combined"]) == []


@pytest.mark.parametrize(("edit", "said"), [
    (lambda text: text.replace("\nlicence:", "\nlicence: MIT\nlicence:", 1), "licence is set twice (first on line"),
    (lambda text: re.sub(r"(?m)^licence: *(.*)$", r'licence: "\1', text, count=1),
     "licence: the quote \" is not closed"),
])
def test_a_field_set_twice_or_an_open_quote_is_refused_not_read_as_the_last_or_the_literal(
        egmd_only: Workspace, capsys, edit, said: str) -> None:
    """A second `licence: MIT` line won silently and the provenance recorded MIT; `"CC BY 4.0` was stored
    with its quote."""
    note = egmd_only.licence_note("egmd")
    note.write_text(edit(note.read_text(encoding="utf-8")), encoding="utf-8")
    code, lines = hook(egmd_only, ["data/licenses/egmd.md"], capsys)
    assert code == 1 and len(lines) == 1 and said in lines[0] and "(fix: " in lines[0], lines


def test_text_after_a_closing_quote_is_named_as_such(egmd_only: Workspace, capsys) -> None:
    note = egmd_only.licence_note("egmd")
    note.write_text(re.sub(r"(?m)^licence: *(.*)$", r'licence: "\1" (v4)', note.read_text(encoding="utf-8"),
                           count=1), encoding="utf-8")
    code, lines = hook(egmd_only, ["data/licenses/egmd.md"], capsys)
    assert code == 1 and "licence: text after the closing quote: ' (v4)'" in lines[0], lines

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.config import StorageRoot, load_datasets
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace, find_workspace


def test_datasets_config_loads_roots_and_gates(workspace: Workspace) -> None:
    config = load_datasets(workspace)
    assert set(config.datasets) == {"cambridge", "musdb_hq", "egmd", "mdb_drums"}
    cambridge = config.get("cambridge")
    assert [r.tier for r in cambridge.roots] == ["primary", "external"]
    assert cambridge.root("primary").path == workspace.root / "data" / "raw" / "cambridge"
    assert not cambridge.root("external").online
    assert cambridge.gates["min_class_events"]["kick"] == 20
    assert config.combined["group"] == "prod_combined"


def test_environment_overrides_a_root(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    monkeypatch.setenv("DRUMGATE_CAMBRIDGE_EXTERNAL", str(drive))
    root = load_datasets(workspace).get("cambridge").root("external")
    assert root.path == drive and root.online


def test_invalid_toml_names_file_and_line(workspace: Workspace) -> None:
    path = workspace.configs / "datasets.toml"
    path.write_text("version = 1\n[datasets.egmd\nroots = []\n")
    with pytest.raises(DrumgateError) as info:
        load_datasets(workspace)
    assert str(info.value).startswith(f"{path}:2: invalid TOML")


def test_schema_violation_names_the_key_and_its_line(workspace: Workspace) -> None:
    path = workspace.configs / "datasets.toml"
    text = path.read_text().replace("min_sessions = 2", 'min_sessions = "two"', 1)
    path.write_text(text)
    with pytest.raises(DrumgateError, match="datasets/cambridge/gates/min_sessions") as caught:
        load_datasets(workspace)
    assert caught.value.line == text.splitlines().index('min_sessions = "two"') + 1


def test_a_schema_violation_inside_an_inline_table_names_the_key_s_line(workspace: Workspace) -> None:
    path = workspace.configs / "datasets.toml"
    text = path.read_text()
    start = text.index("[datasets.egmd.gates]")
    line = text[:start].count("\n") + 1 + text[start:].splitlines().index("min_class_events = { kick = 50, snare = 50,"
                                                                         " hihat = 50 }")
    path.write_text(text[:start] + text[start:].replace("min_class_events = { kick = 50,",
                                                        'min_class_events = { kick = "fifty",', 1))
    with pytest.raises(DrumgateError, match="datasets/egmd/gates/min_class_events/kick") as caught:
        load_datasets(workspace)
    assert caught.value.line == line and str(caught.value).startswith(f"{path}:{line}: ")


def test_duplicate_tier_is_rejected(workspace: Workspace) -> None:
    path = workspace.configs / "datasets.toml"
    path.write_text(path.read_text().replace('tier = "external"', 'tier = "primary"', 1))
    with pytest.raises(DrumgateError, match="storage tier 'primary' listed twice"):
        load_datasets(workspace)


def test_unknown_dataset_lists_known_ones(workspace: Workspace) -> None:
    known = r"\(known: cambridge, egmd, mdb_drums, musdb_hq\)"
    with pytest.raises(DrumgateError, match=r"unknown dataset 'medley' " + known):
        load_datasets(workspace).get("medley")


def test_workspace_found_from_subfolder(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = workspace.root / "data" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert find_workspace().root == workspace.root


def test_explicit_non_workspace_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(DrumgateError, match="not a drumgate workspace"):
        find_workspace(tmp_path)


def test_cli_prints_one_line_and_exit_2_for_bad_config(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace.configs / "datasets.toml").write_text("version = [\n")
    code = cli.guarded(lambda: (load_datasets(workspace), 0)[1])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "invalid TOML" in err and "Traceback" not in err


def test_cli_names_a_bad_config_from_the_folder_it_runs_in(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the repository the path reads as typed; from elsewhere in full. The fix names the folder
    (`git -C`), so it works as printed from either folder, inside the repository or not."""
    config = workspace.configs / "datasets.toml"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=workspace.root, check=True)
    subprocess.run([*git, "add", "configs"], cwd=workspace.root, check=True)
    subprocess.run([*git, "commit", "-q", "--no-verify", "-m", "configs"], cwd=workspace.root, check=True)
    config.write_text("version = 1\n= broken\n")
    restore = (f"(fix: edit line 2, or git -C {config.parent} checkout HEAD -- datasets.toml to restore the"
               " committed one)")
    monkeypatch.chdir(workspace.root)
    assert cli.guarded(lambda: (load_datasets(workspace), 0)[1]) == 2
    assert capsys.readouterr().err.startswith("configs/datasets.toml:2: invalid TOML")
    monkeypatch.chdir(workspace.root / "data")
    assert cli.guarded(lambda: (load_datasets(workspace), 0)[1]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{config}:2: invalid TOML") and err.rstrip().endswith(restore)


def test_a_bad_config_in_a_repository_without_commits_is_fixed_by_an_edit(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new repository has no HEAD: `git checkout HEAD -- ...` failed with `invalid reference: HEAD`."""
    subprocess.run(["git", "init", "-q"], cwd=workspace.root, check=True)
    (workspace.configs / "datasets.toml").write_text("version = 1\nx = \n")
    assert cli.guarded(lambda: (load_datasets(workspace), 0)[1]) == 2
    assert capsys.readouterr().err.rstrip().endswith("invalid TOML: Invalid value (fix: edit line 2)")


def test_cli_unknown_command_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    assert "ingest egmd" in capsys.readouterr().out


def test_internal_error_is_exit_3_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def boom() -> int:
        raise ZeroDivisionError("x")

    assert cli.guarded(boom) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["../../../pwn", "x<img src=x>", "Egmd", "egmd\n"])
@pytest.mark.parametrize("schema", ["current", "older"], ids=["current schema", "a workspace's older schema"])
def test_a_dataset_id_that_could_name_a_path_is_refused(workspace: Workspace, name: str, schema: str) -> None:
    """Dataset ids name report files: `../../../pwn` wrote a health report outside the workspace."""
    if schema == "older":  # a team's repository scaffolded before the schema said so
        path = workspace.schemas / "datasets_config.schema.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        del document["properties"]["datasets"]["propertyNames"]
        path.write_text(json.dumps(document), encoding="utf-8")
    config = workspace.configs / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    table = text[text.index("[datasets.egmd]"):text.index("[datasets.egmd.gates]")]
    escaped = json.dumps(name)  # a TOML basic string
    config.write_text(text + "\n" + table.replace("[datasets.egmd]", f"[datasets.{escaped}]"), encoding="utf-8")
    with pytest.raises(DrumgateError) as caught:
        load_datasets(workspace)
    assert caught.value.path == config


def test_a_dataset_table_is_named_as_toml_spells_it() -> None:
    """The rename fix names the table to edit: a name with a space is only a key when quoted."""
    import tomllib

    from drumgate.config import _toml_key

    for name in ("My Set", "egmd", "É-GMD", 'a"b'):
        assert list(tomllib.loads(f"[datasets.{_toml_key(name)}]\n")["datasets"]) == [name]


@pytest.mark.parametrize(("old", "new", "worded"), [
    ("split_bounds = { train = [0.5, 1.0] }", "split_bounds = { train = [1.0, 0.5] }",
     "datasets.cambridge.gates.split_bounds.train: 1.0 is above 0.5: no share can pass"),
    ("mix = {", "mix = { medley = 0.5,", "combined.mix names 'medley', which is not a dataset here"),
    ("max_missing_audio_fraction = 0.5", "max_missing_audio_fraction = nan",
     "datasets/cambridge/gates/max_missing_audio_fraction: not a finite number"),
])
def test_settings_no_data_could_pass_are_refused_with_a_fix(workspace: Workspace, old: str, new: str,
                                                            worded: str) -> None:
    path = workspace.configs / "datasets.toml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(DrumgateError) as info:
        load_datasets(workspace)
    assert worded in str(info.value) and "(fix: " in str(info.value), str(info.value)
    if "nan" not in new:  # the checks after the schema name the line they read too
        assert info.value.line == path.read_text().splitlines().index(
            next(line for line in path.read_text().splitlines() if new in line)) + 1


def test_an_offline_roots_note_names_a_file_and_offers_a_fix_only_when_nothing_was_kept(tmp_path: Path) -> None:
    root = StorageRoot("cambridge", "external", "x", "DRUMGATE_CAMBRIDGE_EXTERNAL", tmp_path / "external")
    assert root.offline_note("3 sessions carried forward", 3) == (
        f"tier external offline ({tmp_path / 'external'} not mounted): 3 sessions carried forward")
    (tmp_path / "external").write_text("")
    assert root.offline_note("0 entries kept, not checked", 0) == (
        f"tier external offline ({tmp_path / 'external'} is a file, not a folder): 0 entries kept, not checked "
        "(fix: set DRUMGATE_CAMBRIDGE_EXTERNAL to where the drive is mounted, or if the library has no external "
        "tier delete its line in configs/datasets.toml)")

"""`drumgate events cambridge` follows the layout `ingest cambridge` chose (issue 15): a folder of one
part per session when the sessions manifest is a folder, holding the single file's rows; health reads it
the same, a re-run rewrites nothing, one changed session rewrites its own part and the index, an
explicit `--layout` wins and is recorded, the hooks pass and `drumgate repro` reproduces it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drumgate import cli, events
from drumgate.io import parts
from drumgate.io.jsonio import read_json
from drumgate.workspace import Workspace
from tests.test_contract_layout import by_session, ingest, make_cambridge, rows_of, shorten_a_stem
from tests.test_contract_layout import (
    test_repro_repeats_the_layout_on_a_cambridge_parts_workspace as repro_twice_on_a_parts_workspace,
)
from tests.test_repro_partitioned import artifact_bytes

EVENTS = Path("data/manifests/cambridge_events.jsonl")
FOLDER = parts.folder_of(EVENTS)
SESSIONS = Path("data/manifests/cambridge_sessions.jsonl")
PROVENANCE = Path("data/provenance/cambridge_provenance.jsonl")
LOCK = "data/locks/cambridge.lock.json"


def derive(*extra: str) -> int:
    return cli.main(["events", "cambridge", *extra])


def recorded(ws: Workspace) -> dict[str, dict]:
    return read_json(ws.lock_file("cambridge"))["artifacts"]


def test_a_parts_inventory_gets_parts_holding_the_single_files_rows(workspace: Workspace) -> None:
    make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "file") == 0 and derive() == 0
    single = (workspace.root / EVENTS).read_bytes()
    assert not (workspace.root / FOLDER).exists()
    assert recorded(workspace)[EVENTS.as_posix()]["command"] == "drumgate events cambridge"
    assert ingest("cambridge", "--layout", "parts") == 0 and derive() == 0  # auto: as the inventory is
    folder = workspace.root / FOLDER
    assert not (workspace.root / EVENTS).exists() and (folder / parts.INDEX_NAME).is_file()
    assert list(events.read(folder)) == by_session(rows_of(single))
    index = parts.read_index(folder)
    keys = [entry["key"] for entry in index["parts"]]
    assert index["key"] == "session_id" and keys == sorted(set(keys))
    assert keys == sorted({row["session_id"] for row in rows_of(single)})
    lock = recorded(workspace)
    entry = lock[(FOLDER / parts.INDEX_NAME).as_posix()]
    assert entry["command"] == "drumgate events cambridge" and EVENTS.as_posix() not in lock
    assert (parts.folder_of(SESSIONS) / parts.INDEX_NAME).as_posix() in entry["inputs"]
    assert derive("--layout", "file") == 0  # told: the file again, byte for byte, and the folder goes
    assert (workspace.root / EVENTS).read_bytes() == single and not folder.exists()
    lock = recorded(workspace)
    assert lock[EVENTS.as_posix()]["command"] == "drumgate events cambridge --layout file"
    assert not any(key.startswith(FOLDER.as_posix() + "/") for key in lock)


def test_health_on_the_events_folder_equals_health_on_the_file(workspace: Workspace, tmp_path: Path) -> None:
    make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "file") == 0 and derive() == 0
    copies = {path.name: Path(shutil.copy(workspace.root / path, tmp_path / path.name))
              for path in (EVENTS, SESSIONS, PROVENANCE)}
    assert ingest("cambridge", "--layout", "parts") == 0 and derive() == 0
    from_parts, from_single = tmp_path / "parts.json", tmp_path / "single.json"
    assert cli.main(["health", "--events", str(FOLDER), "--output", str(from_parts), "--date", "2026-01-15"]) in (0, 1)
    assert cli.main(["health", "--events", str(copies[EVENTS.name]), "--sessions", str(copies[SESSIONS.name]),
                     "--provenance", str(copies[PROVENANCE.name]), "--dataset", "cambridge",
                     "--output", str(from_single), "--date", "2026-01-15"]) in (0, 1)
    got, expected = read_json(from_parts), read_json(from_single)
    got.pop("source")
    expected.pop("source")
    assert got == expected


def test_a_rerun_rewrites_nothing_and_one_changed_session_rewrites_only_its_part(workspace: Workspace) -> None:
    changed_session = make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "parts") == 0 and derive() == 0
    before = artifact_bytes(workspace.root)
    written_at = {path: path.stat().st_mtime_ns for path in (workspace.root / FOLDER).rglob("*")}
    assert derive() == 0
    assert artifact_bytes(workspace.root) == before
    assert {path: path.stat().st_mtime_ns for path in written_at} == written_at  # not even renamed in again
    session = shorten_a_stem(changed_session)
    assert ingest("cambridge") == 0 and derive() == 0  # auto keeps the folders
    after = artifact_bytes(workspace.root)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    own_part = parts.part_stem(session) + parts.PART_SUFFIX
    folders = [parts.folder_of(path).as_posix() for path in (EVENTS, SESSIONS, PROVENANCE)]
    assert changed - {LOCK} <= {f"{folder}/{leaf}" for folder in folders for leaf in (own_part, parts.INDEX_NAME)}
    assert {f"{FOLDER.as_posix()}/{own_part}", f"{FOLDER.as_posix()}/{parts.INDEX_NAME}"} <= changed


def test_an_offline_tiers_events_are_carried_forward_from_the_folder(workspace: Workspace) -> None:
    make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "parts") == 0 and derive() == 0
    rows = list(events.read(workspace.root / FOLDER))
    shutil.rmtree(workspace.root / "data" / "raw" / "cambridge_external")
    assert ingest("cambridge") == 0 and derive() == 0
    assert list(events.read(workspace.root / FOLDER)) == rows
    assert any(row["session_id"] == "GammaRay_OpenRoad" for row in rows)


def test_the_hooks_accept_the_events_parts(workspace: Workspace) -> None:
    make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "parts") == 0 and derive() == 0
    files = [path for path in artifact_bytes(workspace.root) if path.startswith(FOLDER.as_posix() + "/")]
    assert any(path.endswith(parts.PART_SUFFIX) for path in files) and f"{FOLDER.as_posix()}/index.json" in files
    assert cli.main(["hook", "schema", "--workspace", str(workspace.root), *files]) == 0
    assert cli.main(["hook", "taxonomy", "--workspace", str(workspace.root), *files]) == 0
    assert cli.main(["hook", "freshness", "--all"]) == 0


def test_repro_reproduces_the_events_folder_and_a_told_layout(workspace: Workspace) -> None:
    repro_twice_on_a_parts_workspace(workspace)  # ingest --layout parts, events, repro; a second repro changes nothing
    assert (workspace.root / FOLDER / parts.INDEX_NAME).is_file() and not (workspace.root / EVENTS).exists()
    assert recorded(workspace)[(FOLDER / parts.INDEX_NAME).as_posix()]["command"] == "drumgate events cambridge"
    assert derive("--layout", "file") == 0
    assert cli.main(["repro", "--date", "2026-02-03"]) == 0  # repeats --layout file over the parts inventory
    assert (workspace.root / EVENTS).is_file() and not (workspace.root / FOLDER).exists()
    assert cli.main(["hook", "freshness", "--all"]) == 0
    before = artifact_bytes(workspace.root)
    assert cli.main(["repro", "--date", "2026-02-04"]) == 0
    assert artifact_bytes(workspace.root) == before


def test_an_unknown_layout_is_refused(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    assert derive("--layout", "folders") == 2
    assert "argument --layout: invalid layout value: 'folders'" in capsys.readouterr().err


def _edit_part(folder: Path, session: str) -> Path:
    """A part of `session` edited by hand (one row's confidence), re-compressed: its sha256 no longer
    matches the index."""
    import gzip
    import json

    part = folder / (parts.part_stem(session) + parts.PART_SUFFIX)
    lines = gzip.decompress(part.read_bytes()).decode().splitlines()
    row = json.loads(lines[0])
    row["confidence"] = 0.5
    lines[0] = json.dumps(row)
    part.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return part


def test_an_edited_part_of_an_online_session_is_written_again(workspace: Workspace,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """With a tier offline, the run reads the committed events of its sessions only: an edited part of
    an online session is derived again (it was refused with a fix that ran this same refused run); an
    edited part of an offline session is refused with a way back that is not this run."""
    make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "parts") == 0 and derive() == 0
    before = artifact_bytes(workspace.root)
    shutil.rmtree(workspace.root / "data" / "raw" / "cambridge_external")
    assert ingest("cambridge") == 0
    folder = workspace.root / FOLDER
    _edit_part(folder, "AlphaBand_FirstLight")
    assert derive() == 0
    assert {path: data for path, data in artifact_bytes(workspace.root).items() if path.startswith(FOLDER.as_posix())} \
        == {path: data for path, data in before.items() if path.startswith(FOLDER.as_posix())}
    offline = _edit_part(folder, "GammaRay_OpenRoad")
    capsys.readouterr()
    assert derive() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{workspace.rel(offline)}: sha256 differs from index.json"), err
    assert "mount the tier that holds session GammaRay_OpenRoad, then drumgate repro cambridge" in err[0], err
    assert "fix: drumgate repro cambridge)" not in err[0]

"""`--layout auto|file|parts` for every ingestor on the shared contract (issue 15): Cambridge, MUSDB and
MDB Drums write folders of per-session parts holding the single files' rows, health reads them the
same, a re-run rewrites nothing, one changed session rewrites its own parts and the indexes, the
hooks pass, and `drumgate repro` repeats the layout.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf

from drumgate import cli, events
from drumgate.cli.ingest import command
from drumgate.config import load_datasets
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.musdb import FIXTURE_TRACKS, make_musdb_corpus, write_track
from drumgate.io import parts
from drumgate.io.jsonio import read_json
from drumgate.workspace import Workspace
from ingest import contract
from tests.mdb_fixtures import make_mdb_tree
from tests.test_repro_partitioned import artifact_bytes


def make_cambridge(raw: Path) -> Path:
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=1)
    return raw / "cambridge" / "AlphaBand_FirstLight"


def make_musdb(raw: Path) -> Path:
    make_musdb_corpus(raw / "musdb_hq", seed=3, seconds=2.0)
    split, name = FIXTURE_TRACKS[0]
    return raw / "musdb_hq" / split / name


def make_mdb(raw: Path) -> Path:
    return make_mdb_tree(raw / "mdb_drums").subclass_file("MusicDelta_Rock")


def shorten_a_stem(folder: Path) -> str:
    """Cut one close-mic stem of the Cambridge session to half its length; its session id."""
    stem = sorted(folder.glob("*.wav"))[0]
    audio, rate = sf.read(stem, always_2d=True)
    sf.write(stem, audio[: len(audio) // 2], rate, subtype=sf.info(stem).subtype)
    return folder.name


def rerender_a_track(folder: Path) -> str:
    write_track(folder, 2.0, bpm=137.0, seed=99)
    return folder.name


def drop_an_annotation(annotation: Path) -> str:
    lines = annotation.read_text(encoding="utf-8").splitlines(keepends=True)
    annotation.write_text("".join(lines[:-1]), encoding="utf-8")
    return "MusicDelta_Rock"


# dataset -> (command, corpus builder returning what to change, the change returning its session id)
DATASETS: dict[str, tuple[str, Callable[[Path], Path], Callable[[Path], str]]] = {
    "cambridge": ("cambridge", make_cambridge, shorten_a_stem),
    "musdb_hq": ("musdb", make_musdb, rerender_a_track),
    "mdb_drums": ("mdb_drums", make_mdb, drop_an_annotation),
}
WITH_EVENTS = ("musdb_hq", "mdb_drums")


def outputs(ws: Workspace, dataset: str) -> dict[str, Path]:
    cls = command(DATASETS[dataset][0]).ingestor
    return contract.output_targets(ws, cls.outputs, {}, dataset)


def ingest(dataset: str, *extra: str) -> int:
    return cli.main(["ingest", DATASETS[dataset][0], *extra])


@pytest.fixture(params=sorted(DATASETS))
def dataset(request: pytest.FixtureRequest, workspace: Workspace) -> tuple[str, Path]:
    """A dataset id and the raw input one test changes, its corpus generated in the workspace."""
    return request.param, DATASETS[request.param][1](workspace.root / "data" / "raw")


def group_of(ws: Workspace, dataset: str) -> str:
    return load_datasets(ws).get(dataset).group


def rows_of(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def by_session(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: str(row["session_id"]))  # stable: each session keeps its order


def test_parts_hold_the_single_files_rows_and_switching_back_restores_them(
    workspace: Workspace, dataset: tuple[str, Path]
) -> None:
    name, _ = dataset
    targets = outputs(workspace, name)
    assert ingest(name, "--layout", "file") == 0
    single = {kind: path.read_bytes() for kind, path in targets.items()}
    assert ingest(name, "--layout", "parts") == 0
    lock = read_json(workspace.lock_file(group_of(workspace, name)))["artifacts"]
    for kind, path in targets.items():
        folder = parts.folder_of(path)
        assert not path.exists() and (folder / parts.INDEX_NAME).is_file()
        assert list(events.read(folder)) == by_session(rows_of(single[kind]))
        index = parts.read_index(folder)
        assert index["key"] == "session_id" and len({entry["key"] for entry in index["parts"]}) == len(index["parts"])
        recorded = lock[workspace.rel(folder / parts.INDEX_NAME)]
        assert recorded["command"].endswith(f"ingest {DATASETS[name][0]} --layout parts")
        assert workspace.rel(path) not in lock
    assert ingest(name) == 0  # auto keeps the folders that are there
    assert all(parts.folder_of(path).is_dir() for path in targets.values())
    assert ingest(name, "--layout", "file") == 0
    assert {kind: path.read_bytes() for kind, path in targets.items()} == single
    assert not any(parts.folder_of(path).exists() for path in targets.values())
    lock = read_json(workspace.lock_file(group_of(workspace, name)))["artifacts"]
    assert all(workspace.rel(path) in lock for path in targets.values()) and not any("index.json" in k for k in lock)
    assert lock[workspace.rel(targets["provenance"])]["command"].endswith("--layout file")  # told, so repeated


def test_a_rerun_rewrites_nothing_and_one_changed_session_rewrites_only_its_parts(
    workspace: Workspace, dataset: tuple[str, Path]
) -> None:
    name, changed_input = dataset
    assert ingest(name, "--layout", "parts") == 0
    before = artifact_bytes(workspace.root)
    written_at = {path: path.stat().st_mtime_ns for path in (workspace.root / "data").rglob("*.jsonl.gz")}
    assert ingest(name, "--layout", "parts") == 0
    assert artifact_bytes(workspace.root) == before
    assert {path: path.stat().st_mtime_ns for path in written_at} == written_at  # not even renamed in again
    session = DATASETS[name][2](changed_input)
    assert ingest(name, "--layout", "parts") == 0
    after = artifact_bytes(workspace.root)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    own_part = parts.part_stem(session) + parts.PART_SUFFIX
    folders = {parts.folder_of(workspace.rel(path)) for path in outputs(workspace, name).values()}
    allowed = {f"{folder.as_posix()}/{leaf}" for folder in folders for leaf in (own_part, parts.INDEX_NAME)}
    assert changed - {f"data/locks/{group_of(workspace, name)}.lock.json"} <= allowed
    provenance = parts.folder_of(workspace.rel(outputs(workspace, name)["provenance"])).as_posix()
    assert f"{provenance}/{own_part}" in changed
    if name in WITH_EVENTS:
        assert f"data/manifests/{name}_events/{own_part}" in changed


@pytest.mark.parametrize("name", WITH_EVENTS)
def test_health_on_the_folder_equals_health_on_the_file(workspace: Workspace, tmp_path: Path, name: str) -> None:
    DATASETS[name][1](workspace.root / "data" / "raw")
    targets = outputs(workspace, name)
    assert ingest(name, "--layout", "file") == 0
    copies = {kind: Path(shutil.copy(path, tmp_path / path.name)) for kind, path in targets.items()}
    assert ingest(name, "--layout", "parts") == 0
    from_parts, from_single = tmp_path / "parts.json", tmp_path / "single.json"
    folder = parts.folder_of(workspace.rel(targets["events"]))
    assert cli.main(["health", "--events", str(folder), "--output", str(from_parts), "--date", "2026-01-15"]) in (0, 1)
    assert cli.main(["health", "--events", str(copies["events"]), "--sessions", str(copies["sessions"]),
                     "--provenance", str(copies["provenance"]), "--dataset", name, "--output", str(from_single),
                     "--date", "2026-01-15"]) in (0, 1)
    got, expected = read_json(from_parts), read_json(from_single)
    got.pop("source")
    expected.pop("source")
    assert got == expected


def test_the_hooks_accept_the_parts(workspace: Workspace, dataset: tuple[str, Path]) -> None:
    name, _ = dataset
    assert ingest(name, "--layout", "parts") == 0
    files = [path for path in artifact_bytes(workspace.root) if path.startswith(("data/manifests/", "data/prov"))]
    assert any(path.endswith(parts.PART_SUFFIX) for path in files)
    assert cli.main(["hook", "schema", "--workspace", str(workspace.root), *files]) == 0
    assert cli.main(["hook", "taxonomy", "--workspace", str(workspace.root), *files]) == 0
    assert cli.main(["hook", "freshness", "--all"]) == 0


def test_repro_repeats_the_layout_on_a_cambridge_parts_workspace(workspace: Workspace) -> None:
    make_cambridge(workspace.root / "data" / "raw")
    assert cli.main(["checksums", "generate", "cambridge"]) == 0  # so the provenance has its sha256 from the start
    assert ingest("cambridge", "--layout", "parts") == 0
    assert cli.main(["events", "cambridge"]) == 0
    assert cli.main(["repro", "--date", "2026-02-01"]) == 0
    folder = workspace.root / "data" / "manifests" / "cambridge_sessions"
    assert (folder / parts.INDEX_NAME).is_file() and not folder.with_name("cambridge_sessions.jsonl").exists()
    assert list((workspace.root / "reports" / "health").glob("cambridge_*.json"))
    assert cli.main(["hook", "freshness", "--all"]) == 0
    before = artifact_bytes(workspace.root)
    assert cli.main(["repro", "--date", "2026-02-02"]) == 0
    assert artifact_bytes(workspace.root) == before


@pytest.mark.parametrize(("threshold", "folders"), [(2, True), (3, False)])
def test_auto_cuts_parts_above_partition_sessions_and_records_no_layout(
    workspace: Workspace, threshold: int, folders: bool
) -> None:
    make_mdb(workspace.root / "data" / "raw")  # three tracks
    config = workspace.configs / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[datasets.mdb_drums.gates]",
                                   f"partition_sessions = {threshold}\n\n[datasets.mdb_drums.gates]"), encoding="utf-8")
    assert ingest("mdb_drums") == 0
    targets = outputs(workspace, "mdb_drums")
    assert all((parts.folder_of(path) / parts.INDEX_NAME).is_file() == folders for path in targets.values())
    assert all(path.is_file() != folders for path in targets.values())
    commands = {entry["command"] for entry in read_json(workspace.lock_file("mdb_drums"))["artifacts"].values()}
    assert commands == {"drumgate ingest mdb_drums"}


@pytest.mark.parametrize("module", ["cambridge", "musdb", "mdb_drums", "egmd"])
def test_every_ingest_command_takes_one_layout_option(module: str, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["ingest", module, "--help"]) == 0
    assert capsys.readouterr().out.count("--layout {auto,file,parts}") == 2  # usage line and option
    assert cli.main(["ingest", module, "--layout", "folders"]) == 2
    assert "argument --layout: invalid layout value: 'folders'" in capsys.readouterr().err


def test_an_offline_tier_is_carried_forward_from_the_folders(workspace: Workspace) -> None:
    make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "parts") == 0
    shutil.rmtree(workspace.root / "data" / "raw" / "cambridge_external")
    assert ingest("cambridge") == 0  # auto: the folders are there, so they stay
    sessions = {row["session_id"]: row for row in events.read(workspace.root / "data/manifests/cambridge_sessions")}
    assert sessions["GammaRay_OpenRoad"]["status"] == "tier_offline"
    provenance = list(events.read(workspace.root / "data/provenance/cambridge_provenance"))
    assert {row["session_id"] for row in provenance} == set(sessions)


def test_egmd_auto_keeps_its_folders_too(workspace: Workspace) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=3, performances=2, kits=2)
    assert cli.main(["ingest", "egmd", "--jobs", "1", "--layout", "parts"]) == 0
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0  # 4 renders, far below partition_renders
    folder = workspace.root / "data" / "manifests" / "egmd_events"
    assert (folder / parts.INDEX_NAME).is_file() and not folder.with_name("egmd_events.jsonl").exists()
    assert cli.main(["ingest", "egmd", "--jobs", "1", "--layout", "file"]) == 0
    assert not folder.exists() and folder.with_name("egmd_events.jsonl").is_file()

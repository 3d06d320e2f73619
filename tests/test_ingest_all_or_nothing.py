"""An ingest writes all its outputs (manifests, provenance, lock entries) or none.

Bad input the run cannot use (a damaged or unwritable lock, a mistyped `--root`, a cut-off or missing
E-GMD metadata CSV, a bad `configs/onsets.json`) is one `path[:line]: what (fix: ...)` line, exit 2,
found before the first write; a bad line of a MUSDB pseudo-label file costs that line only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.config import load_datasets
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import EgmdCorpus, make_egmd_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.io import fsutil
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import Workspace

DAY_ONE, DAY_TWO = "2026-01-14", "2026-01-15"
COMMANDS = {"cambridge": "cambridge", "egmd": "egmd", "musdb_hq": "musdb"}
EGMD_EVENTS = "data/manifests/egmd_events.jsonl"
MUSDB_EVENTS = "data/manifests/musdb_hq_events.jsonl"
PSEUDO_TRACK = "test/Al James - Schoolboy Facination"


def make_cambridge_primary(root: Path) -> object:
    """The primary tier only: the external tier stays unplugged (carried forward)."""
    with tempfile.TemporaryDirectory() as elsewhere:
        return make_cambridge_corpus(root, Path(elsewhere) / "external", seed=3)


CORPORA: dict[str, Callable[[Path], object]] = {
    "cambridge": make_cambridge_primary,
    "egmd": lambda root: make_egmd_corpus(root, seed=3, performances=2, kits=2, audio=False),
    "musdb_hq": lambda root: make_musdb_corpus(root, seed=3, seconds=2.0),
}


def ingest(dataset: str, *extra: str) -> int:
    jobs = ("--jobs", "1") if dataset == "egmd" else ()
    return cli.main(["ingest", COMMANDS[dataset], *jobs, *extra])


def outputs(ws: Workspace) -> dict[str, str]:
    """sha256 of every manifest, provenance and lock file (not the git-ignored guard files), and any temporary."""
    found = {}
    for folder in ("data/manifests", "data/provenance", "data/locks"):
        for path in sorted((ws.root / folder).rglob("*")):
            if path.is_file() and not path.name.endswith(".lck"):
                found[ws.rel(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def refused(capsys: pytest.CaptureFixture[str], *expected: str) -> str:
    """The one stderr line of a refusal, holding each expected text and a fix."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0] and "(fix: " in lines[0], lines[0]
    assert all(text in lines[0] for text in expected), lines[0]
    return lines[0]


def refused_unwritten(workspace: Workspace, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                      *expected: str) -> str:
    """Run `ingest *argv`: exit 2, one refusal line (see `refused`), and no output file changed."""
    before = outputs(workspace)
    capsys.readouterr()
    assert ingest(*argv) == 2
    line = refused(capsys, *expected)
    assert outputs(workspace) == before
    return line


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DRUMGATE_EGMD_ROOT", "DRUMGATE_MUSDB_ROOT", "DRUMGATE_CAMBRIDGE_PRIMARY",
                 "DRUMGATE_CAMBRIDGE_EXTERNAL", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=sorted(COMMANDS))
def ingested(request: pytest.FixtureRequest, workspace: Workspace, clean_env: None) -> str:
    """A workspace whose `request.param` artifacts and lock entries were written on day one."""
    dataset = request.param
    CORPORA[dataset](load_datasets(workspace).get(dataset).roots[0].path)
    assert ingest(dataset, "--date", DAY_ONE) == 0
    return dataset


# ---------------------------------------------------------------- 1. the lock, checked before any write


def test_a_damaged_lock_stops_the_run_before_anything_is_written(
    ingested: str, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = workspace.lock_file(load_datasets(workspace).get(ingested).group)
    lock.write_bytes(lock.read_bytes()[:120])  # cut off mid-document
    # the new date would change every provenance row
    # no commit holds the lock here, so the fix writes it again instead of checking it out
    refused_unwritten(workspace, capsys, (ingested, "--date", DAY_TWO),
                      workspace.rel(lock), "invalid JSON", f"rm {workspace.rel(lock)}, then drumgate ingest {ingested}")


def test_a_read_only_lock_folder_stops_the_run_before_anything_is_written(
    ingested: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locks = (workspace.root / "data" / "locks").resolve()
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        resolved = Path(str(path)).resolve()
        inside = resolved == locks or locks in resolved.parents
        return False if inside and mode & os.W_OK else real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    # root ignores permission bits: a read-only mount is what access() reports
    monkeypatch.setattr(fsutil.os, "access", access)
    refused_unwritten(workspace, capsys, (ingested, "--date", DAY_TWO), "data/locks", "read-only")


# ---------------------------------------------------------------- 2. a typed --root must be a folder


@pytest.mark.parametrize("typed", ["missing", "file"])
def test_a_typed_root_that_is_not_a_folder_is_refused_not_taken_offline(
    ingested: str, workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], typed: str
) -> None:
    root = tmp_path / "nonexistent" / "path"
    if typed == "file":
        root = tmp_path / "a-file"
        root.write_text("not a dataset\n", encoding="utf-8")
    line = refused_unwritten(workspace, capsys, (ingested, "--root", str(root), "--date", DAY_TWO),
                             "not found", f"fix: drumgate ingest {COMMANDS[ingested]}")
    assert line.startswith(f"{root}: ")  # outside the folder it runs in: in full


def test_a_configured_root_that_is_not_mounted_stays_the_offline_tier(
    workspace: Workspace, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_musdb_corpus(workspace.root / "data/raw/musdb_hq", seed=3, seconds=2.0)
    assert ingest("musdb_hq", "--date", DAY_ONE) == 0
    monkeypatch.setenv("DRUMGATE_MUSDB_ROOT", str(workspace.root / "unplugged-drive"))
    assert ingest("musdb_hq", "--date", DAY_TWO) == 0
    sessions = read_jsonl(workspace.sessions_manifest("musdb_hq"))
    assert sessions and {row["status"] for row in sessions} == {"tier_offline"}


# ---------------------------------------------------------------- 3-4. the E-GMD metadata CSV


@pytest.fixture
def egmd(workspace: Workspace, clean_env: None) -> EgmdCorpus:
    corpus = make_egmd_corpus(workspace.root / "data/raw/egmd", seed=11, performances=4, kits=2, audio=False)
    assert ingest("egmd", "--date", DAY_ONE) == 0
    return corpus


def test_a_cut_off_metadata_csv_is_refused_naming_its_last_line(
    egmd: EgmdCorpus, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    data = egmd.csv_path.read_bytes()
    cut = data[: len(data) // 2]
    assert not cut.endswith(b"\n") and len(cut.rsplit(b"\n", 1)[-1].split(b",")) < 12, "cut mid-row"
    egmd.csv_path.write_bytes(cut)
    last_line = cut.count(b"\n") + 1
    line = refused_unwritten(workspace, capsys, ("egmd", "--date", DAY_TWO), "cut off")
    assert line.startswith(f"data/raw/egmd/e-gmd-v1.0.0.csv:{last_line}: last row has "), line


def test_a_short_row_before_the_end_is_still_one_excluded_row(
    egmd: EgmdCorpus, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = egmd.csv_path.read_text(encoding="utf-8").splitlines()
    egmd.csv_path.write_text("\n".join([*lines[:2], "drummer1,drummer1/session1", *lines[2:]]) + "\n",
                             encoding="utf-8")
    capsys.readouterr()
    assert ingest("egmd", "--date", DAY_TWO) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning:")]
    assert err == [f"{egmd.csv_path}:3: 2 fields, expected 12 (fix: correct that row or restore the CSV from the "
                   "release, then rerun drumgate ingest egmd)"]
    assert len({row["item_id"] for row in read_jsonl(workspace.root / EGMD_EVENTS)}) == len(lines) - 1


@pytest.mark.parametrize("damage", ["deleted", "folder"])
def test_a_missing_metadata_csv_is_refused_naming_it(
    egmd: EgmdCorpus, workspace: Workspace, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    egmd.csv_path.unlink()
    if damage == "folder":
        egmd.csv_path.mkdir()
    line = refused_unwritten(workspace, capsys, ("egmd", "--date", DAY_TWO), "metadata CSV")
    assert line.startswith("data/raw/egmd/e-gmd-v1.0.0.csv: "), line


# ---------------------------------------------------------------- 5-6. MUSDB: pseudo labels, onsets.json


@pytest.fixture
def musdb(workspace: Workspace, clean_env: None) -> Path:
    root = load_datasets(workspace).get("musdb_hq").roots[0].path
    make_musdb_corpus(root, seed=3, seconds=2.0)
    return root


def test_an_undecodable_pseudo_label_line_costs_that_line_only(
    musdb: Path, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    pseudo = musdb / PSEUDO_TRACK / "drums.pseudo.tsv"
    pseudo.write_bytes(b"# time\tlabel\tvelocity\n0.5\tkick\t100\n0.75\tsn\xffare\n1.0\tSD\t90\n")
    assert ingest("musdb_hq", "--date", DAY_ONE) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning:")]
    assert len(err) == 1 and err[0].startswith(f"{pseudo}:3: not valid UTF-8"), err
    events = [row for row in read_jsonl(workspace.root / MUSDB_EVENTS)
              if row["session_id"] == PSEUDO_TRACK.split("/", 1)[1]]
    assert [(row["onset_s"], row["label"], row["label_source"]) for row in events] == [
        (0.5, "kick", "pseudo"), (1.0, "snare", "pseudo")]


def test_nan_in_onsets_json_stops_the_run_naming_the_config(
    musdb: Path, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ingest("musdb_hq", "--date", DAY_ONE) == 0
    config = workspace.configs / "onsets.json"
    config.write_text(config.read_text(encoding="utf-8").replace('"delta": 0.055', '"delta": NaN'),
                      encoding="utf-8")
    line = refused_unwritten(workspace, capsys, ("musdb_hq", "--date", DAY_TWO), "NaN")
    assert line.startswith("configs/onsets.json: "), line

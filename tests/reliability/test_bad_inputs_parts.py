"""A partitioned manifest that disagrees with its index, through the real CLI (`drumgate health`):
a part missing from its index, an index entry without its part, a part whose sha256 differs, two
parts claiming one key, a part over the size limit, an old single-file manifest beside the folder.
Each gets exit 1 or 2 and one line naming the file with its fix, never a traceback; the freshness
check (lineage) names the same file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from drumgate import lineage
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io import parts
from drumgate.workspace import Workspace
from tests.reliability.support import make_workspace, run_drumgate

EVENTS = "data/manifests/egmd_events"


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_workspace(tmp_path_factory.mktemp("parts") / "ws")
    make_egmd_corpus(root / "data" / "raw" / "egmd", seed=5, performances=3, kits=2)
    done = run_drumgate(["ingest", "egmd", "--jobs", "1", "--layout", "parts"], root)
    assert done.code == 0, done.stderr
    return root


def _first_part(folder: Path) -> Path:
    return folder / parts.read_index(folder)["parts"][0]["file"]


def unlisted_part(folder: Path) -> Path:
    stray = folder / "stray-0000000000.jsonl.gz"
    shutil.copy(_first_part(folder), stray)
    return stray


def missing_part(folder: Path) -> Path:
    part = _first_part(folder)
    part.unlink()
    return part


def edited_part(folder: Path) -> Path:
    part = _first_part(folder)
    part.write_bytes(part.read_bytes()[:-8] + b"\0" * 8)
    return part


def key_claimed_twice(folder: Path) -> Path:
    index_path = folder / parts.INDEX_NAME
    text = index_path.read_text()
    index = parts.read_index(folder)
    first, second = index["parts"][0], index["parts"][1]
    index_path.write_text(text.replace(f'"key":"{second["key"]}"', f'"key":"{first["key"]}"'))
    return folder / second["file"]


def oversized_part(folder: Path) -> Path:
    part = _first_part(folder)
    with part.open("ab") as handle:
        handle.truncate(parts.MAX_PART_BYTES + 1)
    return part


def old_single_file(folder: Path) -> Path:
    single = folder.with_name(folder.name + ".jsonl")
    single.write_text('{"session_id": "x"}\n')
    return single


CASES: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "part missing from its index": (unlisted_part, "not listed in index.json", "drumgate repro egmd"),
    "index entry without its part": (missing_part, "listed in index.json but missing", "drumgate repro egmd"),
    "part sha256 differs": (edited_part, "sha256 differs from index.json", "drumgate repro egmd"),
    "two parts claim one key": (key_claimed_twice, "two parts claim the key", "drumgate repro egmd"),
    "part over the size limit": (oversized_part, "over the 25 MiB limit", "drumgate repro egmd"),
    "old single-file manifest": (old_single_file, "single-file manifest beside its partitioned folder",
                                 "drumgate migrate"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_folder_is_one_line_naming_the_file(partitioned: Path, tmp_path: Path, case: str) -> None:
    root = tmp_path / "ws"
    shutil.copytree(partitioned, root, symlinks=True)
    damage, reason, fix = CASES[case]
    bad = damage(root / EVENTS)
    done = run_drumgate(["health", "--events", EVENTS, "--output", str(tmp_path / "h.json")], root)
    assert done.code in (1, 2), (case, done.code, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if reason in line]
    assert len(lines) == 1, (case, done.stderr)
    assert str(bad.name) in lines[0] and f"fix: {fix}" in lines[0], lines[0]
    found = lineage.check(Workspace(root), "egmd")
    if case == "two parts claim one key":  # the index itself was edited: the freshness hook says so
        assert [p.artifact for p in found] == [f"{EVENTS}/index.json"], found
    elif case != "old single-file manifest":
        assert [Path(p.artifact).name for p in found if reason in p.message] == [bad.name], found

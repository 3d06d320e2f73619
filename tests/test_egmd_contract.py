"""E-GMD on the ingestor contract (issue 14).

One licence policy for all four ingestors (E-GMD warned where MUSDB made a finding and Cambridge
stopped after writing), the contract's per-item methods describing exactly the rows E-GMD's driver
streams, and `drumgate ingest egmd` wired through the generic ingest command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.config import load_datasets
from drumgate.errors import EXIT_USAGE
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import Workspace
from ingest.contract import IngestContext
from ingest.egmd import Egmd
from tests.mdb_fixtures import make_mdb_tree


def _root(ws: Workspace, dataset: str) -> Path:
    return load_datasets(ws).get(dataset).roots[0].path


def _egmd(ws: Workspace) -> list[str]:
    make_egmd_corpus(_root(ws, "egmd"), seed=3, performances=2, kits=1)
    return ["ingest", "egmd", "--jobs", "1"]


def _musdb(ws: Workspace) -> list[str]:
    make_musdb_corpus(_root(ws, "musdb_hq"), seed=3, seconds=2.0)
    return ["ingest", "musdb"]


def _cambridge(ws: Workspace) -> list[str]:
    roots = load_datasets(ws).get("cambridge").roots
    make_cambridge_corpus(roots[0].path, roots[1].path, seed=3)
    return ["ingest", "cambridge"]


def _mdb_drums(ws: Workspace) -> list[str]:
    make_mdb_tree(_root(ws, "mdb_drums"))
    return ["ingest", "mdb_drums"]


FOUR: dict[str, Callable[[Workspace], list[str]]] = {
    "egmd": _egmd, "musdb_hq": _musdb, "cambridge": _cambridge, "mdb_drums": _mdb_drums,
}


def _without_field(text: str, key: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(f"{key}:"))


def _unclosed_front_matter(text: str) -> str:
    return text.replace("---", "", 2) if text.count("---") >= 2 else "---\nlicence: [unclosed\n"


BREAKAGES: dict[str, Callable[[str], str]] = {
    "no licence field": lambda text: _without_field(text, "licence"),
    "front matter unreadable": _unclosed_front_matter,
    "empty file": lambda text: "",
}


def _run_with_broken_note(
    ws: Workspace, dataset: str, breakage: str, capsys: pytest.CaptureFixture[str]
) -> tuple[str, int, list[str]]:
    """(the command, its exit code, its stderr lines) with the dataset's licence note broken."""
    argv = FOUR[dataset](ws)
    note = ws.licence_note(dataset)
    note.write_text(BREAKAGES[breakage](note.read_text(encoding="utf-8")), encoding="utf-8")
    capsys.readouterr()
    code = cli.main(argv)
    return f"drumgate {argv[0]} {argv[1]}", code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_licence_note_stops_all_four_ingestors_the_same_way(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], breakage: str
) -> None:
    outcomes = {}
    for dataset in FOUR:
        rerun, code, err = _run_with_broken_note(workspace, dataset, breakage, capsys)
        assert len(err) == 1, (dataset, err)
        note = f"data/licenses/{dataset}.md"
        assert re.match(rf"{re.escape(note)}(:\d+)?: licence note ", err[0]), (dataset, err)
        assert not workspace.events_manifest(dataset).exists() and not workspace.sessions_manifest(dataset).exists()
        assert not workspace.provenance(dataset).exists()
        # the same line up to the dataset's note and command: one policy, not four wordings
        outcomes[dataset] = (code, err[0].replace(note, "NOTE").replace(rerun, "RERUN"))
    assert {code for code, _ in outcomes.values()} == {EXIT_USAGE}
    assert len({line for _, line in outcomes.values()}) == 1, outcomes
    assert list(workspace.root.glob("data/locks/*.json")) == []


@pytest.fixture
def corpus(workspace: Workspace) -> Path:
    root = _root(workspace, "egmd")
    make_egmd_corpus(root, seed=9, performances=3, kits=2)
    return root


def test_the_contract_methods_describe_the_rows_the_driver_streams(workspace: Workspace, corpus: Path) -> None:
    assert cli.main(["ingest", "egmd", "--jobs", "2", "--date", "2025-03-04"]) == 0
    config = load_datasets(workspace).get("egmd")
    ingestor = Egmd(IngestContext(workspace, config, config.roots, {}))
    rows = [ingestor.ingest_item(item) for item in ingestor.list_items()]
    assert [e for r in rows for e in r.events] == read_jsonl(workspace.events_manifest("egmd"))
    assert [s for r in rows for s in r.sessions] == read_jsonl(workspace.sessions_manifest("egmd"))
    written = read_jsonl(workspace.provenance("egmd"))
    common = {"ingest_commit", "tool_version", "config_hashes", "licence", "ingest_date"}
    assert [p for r in rows for p in r.provenance] == [
        {key: value for key, value in row.items() if key not in common} for row in written]
    assert {row["ingest_date"] for row in written} == {"2025-03-04"}
    assert not any(r.findings for r in rows) and ingestor.sections()["metadata"] == [
        "egmd CSV: 6 rows, 6 renders ingested, 0 excluded, MIDI hours " + f"{ingestor.tally.midi_seconds / 3600:.3f}"]


def test_the_command_is_the_generic_ingest_command_with_the_dataset_card(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.COMMANDS["ingest"]["egmd"][0] == "drumgate.cli.ingest:egmd"
    assert cli.main(["ingest", "egmd", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Expanded Groove MIDI Dataset" in out and "Failure policy" in out
    for flag in ("--root", "--output", "--sessions", "--provenance", "--shard", "--jobs", "--duration-tolerance",
                 "--reference-encoder", "--date", "--allow-empty", "--layout", "--json"):
        assert flag in out, flag


def test_inside_root_follows_links_and_dots_like_resolve(tmp_path: Path) -> None:
    """The per-folder shortcut answers as `Path.resolve().relative_to(root)` does, case by case."""
    from ingest.egmd.renders import _inside_root

    root = tmp_path / "root"
    (root / "d1").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.midi").write_bytes(b"x")
    (root / "d1" / "ok.midi").write_bytes(b"x")
    (root / "d1" / "link.midi").symlink_to(outside / "x.midi")
    (root / "d1" / "inner.midi").symlink_to(root / "d1" / "ok.midi")
    (root / "away").symlink_to(outside)
    (root / "d1" / "loop.midi").symlink_to("loop.midi")
    cases = {
        "d1/ok.midi": True, "d1/missing.midi": True, "d1/inner.midi": True, "d1/link.midi": False,
        "away/x.midi": False, "../outside/x.midi": False, "d1/../../outside/x.midi": False, "d1/..": True,
        "..": False, str(outside / "x.midi"): False, "d1/loop.midi": False,
    }
    for name, inside in cases.items():
        assert _inside_root(root, root / name, {}) is inside, name

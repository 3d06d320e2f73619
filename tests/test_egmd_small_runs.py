"""A small E-GMD run reads its MIDI with the loops interpreted (no numba compile on a fresh install,
issue 18's cold start); a large one compiles them. Both write the same bytes."""

from __future__ import annotations

import pytest

from drumgate import cli
from drumgate.errors import EXIT_OK
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.workspace import Workspace
from ingest.egmd import driver, renders


def ingest_bytes(ws: Workspace) -> dict[str, bytes]:
    assert cli.main(["ingest", "egmd", "--jobs", "1", "--date", "2026-01-14"]) == EXIT_OK
    provenance = ws.root / "data" / "provenance" / "egmd_provenance.jsonl"
    outputs = [ws.events_manifest("egmd"), ws.sessions_manifest("egmd"), provenance]
    return {path.name: path.read_bytes() for path in outputs}


def test_interpreted_and_compiled_runs_write_the_same_bytes(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=3, kits=2)
    assert len(corpus.rows) < driver.COMPILE_FROM_RENDERS
    seen: list[bool] = []
    original = renders.parse_midi_bytes

    def spy(data: bytes, path: object = None, compiled: bool = True) -> object:
        seen.append(compiled)
        return original(data, path, compiled=compiled)

    monkeypatch.setattr(renders, "parse_midi_bytes", spy)
    interpreted = ingest_bytes(workspace)
    assert seen and not any(seen)

    seen.clear()
    monkeypatch.setattr(driver, "COMPILE_FROM_RENDERS", 1)
    compiled = ingest_bytes(workspace)
    assert seen and all(seen)
    assert compiled == interpreted
    capsys.readouterr()

"""A whole-number setting written as a float (`64.0`) in a config: JSON Schema counts it as an integer,
the code then cannot use it as a count or a size. The config check refuses it as one line naming the file
and key (exit 2), never an internal error (exit 3); an integer in the same place still passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.workspace import Workspace

CASES = [
    ("musdb.json", ("transcription", "n_mels"), 64.0, ["ingest", "musdb"]),
    ("musdb.json", ("transcription", "iterations"), 30.0, ["ingest", "musdb"]),
    ("onsets.json", ("default", "lag"), 2.0, ["events", "cambridge"]),
    ("onsets.json", ("default", "max_bins"), 3.0, ["events", "cambridge"]),
    ("cambridge_events.json", ("cross_mic", "min_moments"), 4.0, ["events", "cambridge"]),
    ("cambridge_events.json", ("cross_mic", "struck_onsets"), 8.0, ["events", "cambridge"]),
]


def set_key(path: Path, keys: tuple[str, ...], value: object) -> None:
    doc = json.loads(path.read_text())
    target = doc
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    path.write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize(("name", "keys", "value", "command"), CASES, ids=lambda c: str(c))
def test_whole_float_is_a_config_finding(workspace: Workspace, capsys: pytest.CaptureFixture[str], name: str,
                                         keys: tuple[str, ...], value: float, command: list[str]) -> None:
    if command == ["ingest", "musdb"]:  # a corpus to ingest, so the run gets as far as it did for the review
        make_musdb_corpus(workspace.root / "data" / "raw" / "musdb_hq", seed=3, seconds=1.0)
    set_key(workspace.configs / name, keys, value)
    capsys.readouterr()
    assert cli.main(command) == 2
    out, err = capsys.readouterr()
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"configs/{name}: {'/'.join(keys)}: {value} is not of type 'integer'"), lines
    assert "Traceback" not in out + err


def test_whole_number_still_passes_the_schema(workspace: Workspace) -> None:
    from drumgate.config import load_config_json

    set_key(workspace.configs / "musdb.json", ("transcription", "n_mels"), 64)
    assert load_config_json(workspace, "musdb.json", "musdb")["transcription"]["n_mels"] == 64
    set_key(workspace.configs / "onsets.json", ("default", "fmin"), 30.0)  # a float where any number goes
    assert load_config_json(workspace, "onsets.json", "onsets")["default"]["fmin"] == 30.0

"""The note map's `inference.dynamics.skip_techniques`: a skipped technique that no note carries any more
(the only pedal note removed) skips nothing and the ingest goes on; one the taxonomy lacks is a one-line
config finding at ingest and in the taxonomy hook, never a KeyError (exit 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drumgate import cli
from drumgate.cli.hooks.taxonomy import class_configs
from drumgate.errors import EXIT_USAGE
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io.jsonio import read_jsonl
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace

NOTE_MAP = "roland_note_map.json"
PEDAL_NOTE = "44"  # the hi-hat pedal: the only note whose techniques hold `pedal`


def _edit_note_map(ws: Workspace, edit: Callable[[dict[str, Any]], Any]) -> None:
    path = ws.configs / NOTE_MAP
    config = json.loads(path.read_text(encoding="utf-8"))
    edit(config)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _ingested_rows(ws: Workspace) -> list[dict[str, Any]]:
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    return read_jsonl(ws.root / "data" / "manifests" / "egmd_events.jsonl")


def _other_notes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if str(row["source"].get("note")) != PEDAL_NOTE]


def test_a_skipped_technique_no_note_carries_skips_nothing(workspace: Workspace) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=2, kits=1)
    full = _ingested_rows(workspace)
    assert any(str(row["source"].get("note")) == PEDAL_NOTE for row in full), "the corpus plays the pedal"

    _edit_note_map(workspace, lambda config: config["notes"].pop(PEDAL_NOTE))
    without_pedal = _ingested_rows(workspace)

    assert _other_notes(without_pedal) == _other_notes(full)
    assert not any("pedal" in row["techniques"] for row in without_pedal)


def test_a_skipped_technique_the_taxonomy_lacks_is_a_config_finding(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=1, kits=1)
    _edit_note_map(workspace, lambda config: config["inference"]["dynamics"]["skip_techniques"].append("pedall"))

    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert (f"configs/{NOTE_MAP}: inference/dynamics/skip_techniques: technique 'pedall' is not in the taxonomy"
            f" (fix: remove 'pedall' from inference/dynamics/skip_techniques in configs/{NOTE_MAP}") in err

    note_map_check = next(check for check in class_configs() if check.__name__ == "_note_map")
    findings = note_map_check(workspace, load_taxonomy(workspace))
    assert [finding.message for finding in findings] == [
        "inference/dynamics/skip_techniques: technique 'pedall' is not in the taxonomy"]
    assert Path(str(findings[0].path)).name == NOTE_MAP


def test_a_variant_on_a_note_outside_the_crash_family_is_a_config_finding(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=1, kits=1)
    _edit_note_map(workspace, lambda config: config["notes"]["42"].__setitem__("variant", "crash_1"))

    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert (f"configs/{NOTE_MAP}: notes/42: variant 'crash_1' on a 'hihat' note: only crash-family notes carry one"
            f" (their events' dual labels) (fix: remove its variant from configs/{NOTE_MAP})") in err
    assert not (workspace.root / "data" / "manifests" / "egmd_events.jsonl").exists()


def test_a_note_whose_class_the_taxonomy_lacks_says_what_to_edit(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=1, kits=1)
    _edit_note_map(workspace, lambda config: config["notes"]["39"].__setitem__("class", "handclap"))

    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == EXIT_USAGE
    assert capsys.readouterr().err.splitlines()[0] == (
        f"configs/{NOTE_MAP}: notes/39: class 'handclap' is not in the taxonomy (fix: write 'clap' as note 39's"
        f" class in configs/{NOTE_MAP})")

"""Unmapped E-GMD MIDI notes (issue 16) are counted, never dropped silently: the sessions manifest
records them, health counts them as unknown labels (and in the unknown-label gate), and every
message names configs/roland_note_map.json."""

from __future__ import annotations

import json
from collections import Counter

import mido
import pytest

from drumgate import cli
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io.jsonio import read_jsonl
from drumgate.render.html_report import render_health_html
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.reports.health_sessions import UNMAPPED_NOTE_LABEL
from drumgate.workspace import Workspace

UNMAPPED = "42"  # the closed hi-hat: every generated performance plays it


@pytest.fixture
def ingested(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[Workspace, Counter[str], str]:
    """E-GMD ingested with note 42 removed from the note map; returns the notes played and stderr."""
    corpus = workspace.root / "data" / "raw" / "egmd"
    make_egmd_corpus(corpus, seed=5, performances=2, kits=2)
    played: Counter[str] = Counter()
    renders = read_renders(corpus)
    for midi_path, count in renders.items():
        for message in mido.MidiFile(str(midi_path)):
            if message.type == "note_on" and message.velocity > 0 and str(message.note) == UNMAPPED:
                played[midi_path.parent.relative_to(corpus).as_posix()] += count
    note_map = workspace.configs / "roland_note_map.json"
    config = json.loads(note_map.read_text(encoding="utf-8"))
    del config["notes"][UNMAPPED]
    note_map.write_text(json.dumps(config, indent=2), encoding="utf-8")
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    return workspace, played, capsys.readouterr().err


def read_renders(corpus) -> Counter:
    """MIDI file -> how many renders (audio files) the metadata lists for it."""
    import csv

    with (corpus / "e-gmd-v1.0.0.csv").open(newline="") as handle:
        return Counter(corpus / row["midi_filename"] for row in csv.DictReader(handle))


def test_sessions_manifest_records_the_unmapped_notes(ingested) -> None:
    workspace, played, err = ingested
    assert sum(played.values()) > 0, "the generated corpus plays the note"
    rows = read_jsonl(workspace.sessions_manifest("egmd"))
    recorded = {row["path"]: row["unmapped_notes"][UNMAPPED] for row in rows if "unmapped_notes" in row}
    assert recorded == dict(played)
    assert "unmapped notes (note 42 x" in err and "map them in configs/roland_note_map.json" in err


def test_health_counts_them_as_unknown_labels(ingested) -> None:
    workspace, played, _ = ingested
    events = read_jsonl(workspace.events_manifest("egmd"))
    report = compute_health(
        load_health_config(workspace, "egmd"), enumerate(events, 1), read_jsonl(workspace.sessions_manifest("egmd"))
    )
    total = sum(played.values())
    label = UNMAPPED_NOTE_LABEL.format(note=UNMAPPED)
    assert report["unknowns"]["labels"] == {label: total}
    assert report["totals"]["unknown_label_events"] == total
    gate = next(g for g in report["gates"] if g["name"] == "max_unknown_label_fraction")
    assert gate["observed"] == round(total / (len(events) + total), 6) and gate["status"] == "fail"
    page = render_health_html(report)
    assert label in page and "configs/roland_note_map.json" in page


def test_the_health_command_reports_them(ingested, capsys) -> None:
    workspace, played, _ = ingested
    code = cli.main(["health", "--events", "data/manifests/egmd_events.jsonl", "--date", "2026-01-15"])
    assert code == 1, "the unknown-label gate fails"
    report = json.loads((workspace.root / "reports/health/egmd_20260115.json").read_text(encoding="utf-8"))
    assert report["unknowns"]["labels"] == {UNMAPPED_NOTE_LABEL.format(note=UNMAPPED): sum(played.values())}
    assert "max_unknown_label_fraction" in capsys.readouterr().err

"""The compiled technique pass equals the reference on every real drum MIDI file (issue 18)."""

from __future__ import annotations

from drumgate.errors import DrumgateError
from ingest.egmd.midi import parse_midi_bytes
from tests.conftest import REALDATA
from tests.test_technique_kernel import assert_fast_is_reference, project_note_map


def test_every_real_drum_midi_file_gives_the_reference_events() -> None:
    nm = project_note_map()
    files = sorted(p for p in (REALDATA / "a_drum_midi").rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    compared = 0
    for path in files:
        try:
            perf = parse_midi_bytes(path.read_bytes(), path)
        except DrumgateError:
            continue
        assert_fast_is_reference(perf, nm)
        compared += 1
    assert compared >= 55, compared

"""Real Groove MIDI files: events agree with an independent mido count; corrupt MIDI is one line."""

from __future__ import annotations

import csv
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import mido
import pytest

from drumgate import cli
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import DEFAULTS

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
GROOVE = REALDATA / "a_drum_midi" / "drums-with-llm" / "groove"
MIRDATA_GROOVE = REALDATA / "a_drum_midi" / "mirdata" / "tests" / "resources" / "mir_datasets" / "groove_midi"
CORRUPT = REALDATA / "d_corrupt_edge_cases" / "midly" / "test-asset"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not GROOVE.is_dir(), reason="../shared/realdata is absent (tests with real data skipped)"),
]


def mido_counts(path: Path) -> tuple[Counter[int], list[tuple[int, int, int | None]]]:
    """Per-note counts and (note, velocity, last CC4 before it) in file order, read with mido."""
    counts: Counter[int] = Counter()
    hits = []
    cc4: int | None = None
    for message in mido.MidiFile(path):
        if message.type == "control_change" and message.control == 4:
            cc4 = message.value
        elif message.type == "note_on" and message.velocity > 0:
            counts[message.note] += 1
            hits.append((message.note, message.velocity, cc4))
    return counts, hits


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> dict[str, list[dict]]:
    root = tmp_path_factory.mktemp("ws")
    shutil.copytree(DEFAULTS / "configs", root / "configs")
    shutil.copytree(DEFAULTS / "licenses", root / "data" / "licenses")
    code = cli.main(["ingest", "egmd", "--workspace", str(root), "--root", str(GROOVE), "--jobs", "2"])
    assert code == 1  # the re-host carries 54 of the 1,150 files listed in info.csv
    by_file: dict[str, list[dict]] = defaultdict(list)
    for row in read_jsonl(root / "data/manifests/egmd_events.jsonl"):
        by_file[row["source"]["file"]].append(row)
    return by_file


def midi_files() -> list[Path]:
    return sorted(GROOVE.rglob("*.mid"))


def test_every_file_matches_mido(ingested) -> None:
    files = midi_files()
    assert len(files) == 54
    hihat_notes = {22, 26, 42, 44, 46}
    for path in files:
        name = path.relative_to(GROOVE).as_posix()
        counts, hits = mido_counts(path)
        rows = ingested[name]
        assert Counter(r["source"]["note"] for r in rows) == counts, name
        assert [r["velocity"] for r in rows] == [v for _, v, _ in hits], name
        expected_cc4 = [c for n, _, c in hits if n in hihat_notes and c is not None]
        assert [r["attributes"]["cc4"] for r in rows if "attributes" in r] == expected_cc4, name


def test_splits_match_info_csv(ingested) -> None:
    with open(GROOVE / "info.csv", newline="") as handle:
        split_of = {row["midi_filename"]: row["split"] for row in csv.DictReader(handle)}
    for name, rows in ingested.items():
        assert {r["split"] for r in rows} == {split_of[name]}, name


def test_mirdata_crlf_info_csv(tmp_path, capsys) -> None:
    assert b"\r\n" in (MIRDATA_GROOVE / "info.csv").read_bytes()
    shutil.copytree(DEFAULTS / "configs", tmp_path / "configs")
    shutil.copytree(DEFAULTS / "licenses", tmp_path / "data" / "licenses")
    cli.main(["ingest", "egmd", "--workspace", str(tmp_path), "--root", str(MIRDATA_GROOVE), "--jobs", "1"])
    out = capsys.readouterr().out
    assert "metadata\tgmd CSV:" in out and "1 renders ingested" in out


@pytest.mark.parametrize("name", ["PiDamaged.mid", "Beethoven.rmi"])
def test_corrupt_midi_gives_one_clean_line(tmp_path, capsys, name) -> None:
    if not (CORRUPT / name).is_file():
        pytest.skip(f"{name} absent")
    root = tmp_path / "raw"
    (root / "drummer1/session1").mkdir(parents=True)
    (root / "drummer1/session1/1_rock_100_beat_4-4.mid").symlink_to(CORRUPT / name)
    header = "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split\n"
    row = ("drummer1,drummer1/session1,drummer1/session1/1,rock,100,beat,4-4,"
           "drummer1/session1/1_rock_100_beat_4-4.mid,,2.0,train\n")
    (root / "info.csv").write_text(header + row)
    shutil.copytree(DEFAULTS / "configs", tmp_path / "configs")
    shutil.copytree(DEFAULTS / "licenses", tmp_path / "data" / "licenses")
    assert cli.main(["ingest", "egmd", "--workspace", str(tmp_path), "--root", str(root)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1 and errors[0].startswith(f"{root}/drummer1/session1/1_rock_100_beat_4-4.mid: ")
    assert "Traceback" not in errors[0]


def test_real_files_renamed_per_kit_keep_their_performance_key() -> None:
    import io

    import numpy as np

    from ingest.egmd.midi import parse_midi_bytes, performance_key

    def saved(midi: mido.MidiFile) -> bytes:
        buffer = io.BytesIO()
        midi.save(file=buffer)
        return buffer.getvalue()

    renamed_files = 0
    for path in sorted(GROOVE.rglob("*.mid")):
        midi = mido.MidiFile(path)
        original = saved(midi)
        names = [m for m in midi.tracks[0] if m.type in ("track_name", "instrument_name") and m.time == 0]
        for message in names:
            message.name += " (kit 17)"
        if not names:
            continue
        renamed = saved(midi)
        renamed_files += 1
        assert performance_key(renamed) == performance_key(original), path.name
        ours, theirs = parse_midi_bytes(original), parse_midi_bytes(renamed)
        assert np.array_equal(ours.note_s, theirs.note_s) and np.array_equal(ours.note_pitch, theirs.note_pitch)
    assert renamed_files > 10

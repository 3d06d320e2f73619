"""A synthetic E-GMD-scale corpus through `drumgate ingest egmd` (target: <= 60 s on 2 cores).

The corpus mirrors E-GMD's shape: 1,059 performances x 43 kits = 45,537 renders of about 300
notes each (`quick`: 1/50 of the performances, same kits). It is MIDI only, like the official
`e-gmd-v1.0.0-midi.zip`: no WAV exists, so audio probing costs one failed stat per render and
every render is reported as missing audio (a warning, not an exclusion). Peak memory is the
largest resident set of any one process of the run (main or worker). The peer figure is
pretty_midi parsing a sample of the same files serially, scaled to the corpus (parse only).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pretty_midi

from benchmarks._common import run_measured
from drumgate.fixtures.egmd import EGMD_COLUMNS, KIT_NAMES, midi_bytes, performance_score
from drumgate.workspace import PACKAGE_ROOT

PERFORMANCES = 1059
KITS = 43
BARS = 22  # about 300 notes per performance


def make_corpus(root: Path, performances: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    rows = []
    notes = 0
    for index in range(performances):
        drummer = f"drummer{index % 10 + 1}"
        session = f"{drummer}/session{index // 40 + 1}"
        bpm = int(rng.integers(70, 160))
        base = f"{session}/{index + 1}_rock_{bpm}_beat_4-4"
        score = performance_score(rng, BARS)
        notes += sum(e.kind == "note" for e in score)
        data = midi_bytes(score, bpm, "Kit")
        (root / session).mkdir(parents=True, exist_ok=True)
        split = ("train", "train", "train", "train", "train", "train", "train", "validation", "test")[index % 9]
        for kit in range(1, KITS + 1):
            name = f"{base}_{kit}"
            (root / f"{name}.midi").write_bytes(data)
            rows.append({"drummer": drummer, "session": session, "id": f"{session}/{index + 1}", "style": "rock",
                         "bpm": str(bpm), "beat_type": "beat", "time_signature": "4-4", "duration": "60.0",
                         "split": split, "midi_filename": f"{name}.midi", "audio_filename": f"{name}.wav",
                         "kit_name": KIT_NAMES[kit % len(KIT_NAMES)]})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EGMD_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (root / "e-gmd-v1.0.0.csv").write_text(buffer.getvalue())
    return notes * KITS


def pretty_midi_estimate(root: Path, renders: int, sample: int = 200) -> float:
    files = sorted(root.rglob("*.midi"))[:sample]
    started = time.perf_counter()
    for path in files:
        pretty_midi.PrettyMIDI(str(path))
    return (time.perf_counter() - started) / len(files) * renders


def run(quick: bool) -> dict:
    performances = PERFORMANCES // 50 if quick else PERFORMANCES
    with tempfile.TemporaryDirectory(prefix="bench_egmd_") as tmp:
        work = Path(tmp)
        shutil.copytree(PACKAGE_ROOT / "configs", work / "ws" / "configs")
        root = work / "raw"
        started = time.perf_counter()
        notes = make_corpus(root, performances)
        generate_s = time.perf_counter() - started
        renders = performances * KITS
        argv = [sys.executable, "-m", "ingest.egmd", "--workspace", str(work / "ws"), "--root", str(root),
                "--jobs", "2"]
        env = dict(os.environ, CI="true")
        wall, peak_mb = run_measured(argv, env=env)
        events_bytes = (work / "ws" / "data" / "manifests" / "egmd_events.jsonl").stat().st_size
        peer = pretty_midi_estimate(root, renders)
    result = {
        "renders": renders,
        "notes": notes,
        "corpus_generation_s": round(generate_s, 1),
        "drumgate_ingest_s": round(wall, 1),
        "events_per_s": round(notes / wall),
        "events_jsonl_mb": round(events_bytes / 1e6, 1),
        "peak_rss_mb_per_process": round(peak_mb, 1),
        "pretty_midi_parse_only_estimate_s": round(peer, 1),
        "ratio_vs_pretty_midi_parse": round(peer / wall, 1),
        "target": "<= 60 s for 45,537 renders on 2 cores",
    }
    print(f"E-GMD-scale ingest: {renders} renders, {notes} notes (MIDI only), 2 jobs")
    print(f"{'':34} {'seconds':>9}")
    print(f"{'drumgate ingest egmd (full)':34} {wall:9.1f}")
    print(f"{'pretty_midi parse only (est.)':34} {peer:9.1f}   ratio {peer / wall:.1f}x")
    print(f"events JSONL {events_bytes / 1e6:.0f} MB, peak RSS per process {peak_mb:.0f} MB")
    return result


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

"""A synthetic E-GMD-scale corpus through `drumgate ingest egmd` (target: <= 60 s on 2 cores).

The corpus mirrors E-GMD's shape: 1,059 performances x 43 kits = 45,537 renders of about 300
notes each (`quick`: 1/50 of the performances, same kits). It is MIDI only, like the official
`e-gmd-v1.0.0-midi.zip`: no WAV exists, so audio probing costs one failed stat per render and
every render is reported as missing audio (a warning, not an exclusion).

Three corpora are ingested with 2 worker processes:
- "same MIDI per kit": the 43 renders of a performance carry identical MIDI bytes, so the
  ingest parses once per performance and fills one encoded template per render (the target run);
- "kit-named MIDI": each render's track name names its kit; the files differ only in that
  tick-0 name, so they still share one parse (`performance_key`);
- "distinct MIDI per render": each render's tempo is nudged, so every file is parsed, built and
  encoded on its own (the worst case).
The last two hold 1/20 of the performances; their figures are also scaled linearly to 45,537.

Reported per run: wall and CPU seconds (parent and workers apart), events per second, and peak
resident memory of the parent and of the largest worker. The peer a user would pick today
(issue 18) is symusic: `Score.from_file` plus `notes.numpy()` on every render's MIDI file, in
the same number of processes, timed whole (parse only: no events, no JSON, no files written). The
old peer, pretty_midi parsing a sample of the same files serially, scaled to the corpus, stays
as an extra row.
The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from drumgate.fixtures.egmd import EGMD_COLUMNS, KIT_NAMES, midi_bytes, performance_score
from drumgate.workspace import DEFAULTS

PERFORMANCES = 1059
KITS = 43
BARS = 22  # about 300 notes per performance
JOBS = 2
TARGET_S = 60.0
E_GMD_RENDERS = PERFORMANCES * KITS
VARIANT_SHARE = 20  # the kit-named and distinct corpora hold 1/20 of the performances

MEASURE = """
import json, resource, sys, time
started = time.perf_counter()
from drumgate import cli
code = cli.main(["ingest", "egmd", *sys.argv[2:]])
wall = time.perf_counter() - started
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
figures = {"exit": code, "wall_s": wall, "parent_cpu_s": me.ru_utime + me.ru_stime,
           "workers_cpu_s": kids.ru_utime + kids.ru_stime,
           "parent_peak_mb": me.ru_maxrss / 1024, "worker_peak_mb": kids.ru_maxrss / 1024}
open(sys.argv[1], "w").write(json.dumps(figures))
"""


def _variant(shared: bytes, kit: int, variant: str) -> bytes:
    if variant == "kit-named":
        return shared.replace(b"Kit--", f"Kit{kit:02d}".encode(), 1)
    if variant == "distinct":
        at = shared.index(b"\xff\x51\x03") + 3
        tempo = int.from_bytes(shared[at : at + 3], "big") + kit
        return shared[:at] + tempo.to_bytes(3, "big") + shared[at + 3 :]
    return shared


def make_corpus(root: Path, performances: int, seed: int = 0, variant: str = "same") -> int:
    """Write the CSV and MIDI files; returns the number of note-ons over all renders."""
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
        shared = midi_bytes(score, bpm, "Kit--")
        (root / session).mkdir(parents=True, exist_ok=True)
        split = ("train", "train", "train", "train", "train", "train", "train", "validation", "test")[index % 9]
        for kit in range(1, KITS + 1):
            name = f"{base}_{kit}"
            kit_name = KIT_NAMES[kit % len(KIT_NAMES)]
            (root / f"{name}.midi").write_bytes(_variant(shared, kit, variant))
            rows.append({"drummer": drummer, "session": session, "id": f"{session}/{index + 1}", "style": "rock",
                         "bpm": str(bpm), "beat_type": "beat", "time_signature": "4-4", "duration": "60.0",
                         "split": split, "midi_filename": f"{name}.midi", "audio_filename": f"{name}.wav",
                         "kit_name": kit_name})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EGMD_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (root / "e-gmd-v1.0.0.csv").write_text(buffer.getvalue())
    return notes * KITS


def _symusic_notes(paths: list[str]) -> int:
    from symusic import Score

    notes = 0
    for path in paths:
        for track in Score.from_file(path).tracks:
            notes += len(track.notes.numpy()["time"])
    return notes


def symusic_parse_all(root: Path, jobs: int = JOBS) -> tuple[float, int]:
    """Wall seconds for symusic to parse every render's MIDI file in `jobs` processes, and the notes."""
    from concurrent.futures import ProcessPoolExecutor

    files = [str(path) for path in sorted(root.rglob("*.midi"))]
    chunks = [files[start::jobs * 8] for start in range(jobs * 8)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        notes = sum(pool.map(_symusic_notes, chunks))
    return time.perf_counter() - started, notes


def pretty_midi_estimate(root: Path, renders: int, sample: int = 200) -> float:
    files = sorted(root.rglob("*.midi"))[:sample]
    started = time.perf_counter()
    for path in files:
        pretty_midi.PrettyMIDI(str(path))
    return (time.perf_counter() - started) / len(files) * renders


@dataclass
class IngestRun:
    label: str
    renders: int
    events: int
    wall_s: float
    parent_cpu_s: float
    workers_cpu_s: float
    parent_peak_mb: float
    worker_peak_mb: float
    events_mb: float
    load_before: float
    load_after: float

    @property
    def cpu_s(self) -> float:
        return self.parent_cpu_s + self.workers_cpu_s

    def scaled(self, renders: int) -> float:
        return self.wall_s * renders / self.renders

    def figures(self) -> dict:
        return {
            "renders": self.renders,
            "events": self.events,
            "wall_s": round(self.wall_s, 1),
            "cpu_s": round(self.cpu_s, 1),
            "parent_cpu_s": round(self.parent_cpu_s, 1),
            "workers_cpu_s": round(self.workers_cpu_s, 1),
            "events_per_s_wall": round(self.events / self.wall_s),
            "cpu_us_per_event": round(self.cpu_s / self.events * 1e6, 2),
            "parent_peak_rss_mb": round(self.parent_peak_mb, 1),
            "worker_peak_rss_mb": round(self.worker_peak_mb, 1),
            "events_jsonl_mb": round(self.events_mb, 1),
            "load_average_before_after": [self.load_before, self.load_after],
        }


def ingest_once(work: Path, label: str, performances: int, variant: str) -> tuple[IngestRun, Path]:
    root = work / f"raw-{variant}"
    events = make_corpus(root, performances, variant=variant)
    ws = work / f"ws-{variant}"
    shutil.copytree(DEFAULTS / "configs", ws / "configs")
    shutil.copytree(DEFAULTS / "licenses", ws / "data" / "licenses")  # ingest refuses without its licence note
    figures_path = work / f"figures-{variant}.json"
    # the single-file writer is what this benchmark measures (bench_corpus_scale measures the parts layout)
    argv = [sys.executable, "-c", MEASURE, str(figures_path), "--workspace", str(ws), "--root", str(root),
            "--jobs", str(JOBS), "--layout", "file"]
    load_before = round(os.getloadavg()[0], 2)
    done = subprocess.run(argv, capture_output=True, env=dict(os.environ, CI="true"), check=False)
    load_after = round(os.getloadavg()[0], 2)
    if done.returncode not in (0, 1) or not figures_path.is_file():
        raise RuntimeError(f"ingest failed ({done.returncode}): {done.stderr[-500:].decode(errors='replace')}")
    raw = json.loads(figures_path.read_text())
    if raw["exit"] not in (0, 1):
        raise RuntimeError(f"ingest exited {raw['exit']}: {done.stderr[-500:].decode(errors='replace')}")
    manifest = ws / "data" / "manifests" / "egmd_events.jsonl"
    run = IngestRun(label, performances * KITS, events, raw["wall_s"], raw["parent_cpu_s"], raw["workers_cpu_s"],
                    raw["parent_peak_mb"], raw["worker_peak_mb"], manifest.stat().st_size / 1e6,
                    load_before, load_after)
    manifest.unlink()
    return run, root


def print_table(runs: list[IngestRun], full_renders: int, peer_s: float, symusic_s: float, quick: bool) -> None:
    print(f"E-GMD-scale ingest (MIDI only, {JOBS} jobs); target <= {TARGET_S:.0f} s for {E_GMD_RENDERS} renders")
    print(f"{'corpus':26} {'renders':>8} {'events':>10} {'wall s':>7} {'cpu s':>7} {'parent':>7} {'workers':>8} "
          f"{'ev/s wall':>10} {'RSS MB par/wrk':>15} {'load':>11}")
    for run in runs:
        print(f"{run.label:26} {run.renders:8d} {run.events:10d} {run.wall_s:7.1f} {run.cpu_s:7.1f} "
              f"{run.parent_cpu_s:7.1f} {run.workers_cpu_s:8.1f} {run.events / run.wall_s:10,.0f} "
              f"{run.parent_peak_mb:7.0f}/{run.worker_peak_mb:<7.0f} {run.load_before:5.1f}/{run.load_after:<5.1f}")
    main = runs[0]
    for run in runs:
        if quick:
            print("  (quick smoke run: start-up dominates, so nothing is scaled to 45,537 renders)")
            break
        if run.renders != E_GMD_RENDERS:
            factor = E_GMD_RENDERS / run.renders
            print(f"  {run.label} scaled linearly to {E_GMD_RENDERS} renders (start-up counted {factor:.0f} times): "
                  f"{run.wall_s * factor:.1f} s wall, {run.cpu_s * factor:.1f} s cpu")
    print(f"symusic parse only, every render, {JOBS} processes ({full_renders} renders): {symusic_s:.1f} s   "
          f"ratio {symusic_s / main.wall_s:.2f}x vs the full ingest (above 1: drumgate faster)")
    print(f"pretty_midi parse only, serial (est. for {full_renders} renders): {peer_s:.1f} s   "
          f"ratio {peer_s / main.scaled(full_renders):.1f}x vs the full ingest")


def run(quick: bool) -> dict:
    performances = PERFORMANCES // 50 if quick else PERFORMANCES
    variant_performances = max(1, performances // VARIANT_SHARE)
    full_renders = performances * KITS
    with tempfile.TemporaryDirectory(prefix="bench_egmd_") as tmp:
        work = Path(tmp)
        shared, root = ingest_once(work, "same MIDI per kit", performances, "same")
        peer = pretty_midi_estimate(root, full_renders)
        symusic_s, symusic_notes = symusic_parse_all(root)
        shutil.rmtree(root)
        kit_named, _ = ingest_once(work, "kit-named MIDI", variant_performances, "kit-named")
        distinct, _ = ingest_once(work, "distinct MIDI per render", variant_performances, "distinct")
    runs = [shared, kit_named, distinct]
    print_table(runs, full_renders, peer, symusic_s, quick)
    return {
        "same_midi_per_kit": shared.figures(),
        "kit_named_midi": {**kit_named.figures(), "wall_s_scaled_to_45537": round(kit_named.scaled(E_GMD_RENDERS), 1)},
        "distinct_midi_per_render": {**distinct.figures(),
                                     "wall_s_scaled_to_45537": round(distinct.scaled(E_GMD_RENDERS), 1)},
        "symusic_parse_all_s": round(symusic_s, 2),
        "symusic_notes": symusic_notes,
        "ratio_vs_symusic_parse": round(symusic_s / shared.wall_s, 2),
        "pretty_midi_parse_only_estimate_s": round(peer, 1),
        "ratio_vs_pretty_midi_parse": round(peer / shared.wall_s, 1),
        "target": f"<= {TARGET_S:.0f} s for 45,537 renders on 2 cores",
        "wall_s_scaled_to_45537": round(shared.scaled(E_GMD_RENDERS), 1),
        "meets_target": shared.scaled(E_GMD_RENDERS) <= TARGET_S,
    }


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

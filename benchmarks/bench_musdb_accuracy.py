"""Drum-stem transcription accuracy on MDB Drums (F at 50 ms per track and class, pooled precision
and recall per class, false hits on tracks without the class) beside the peer.

Run: `python -m benchmarks musdb_accuracy` (or `python benchmarks/bench_musdb_accuracy.py`).
drumgate = `drumgate.signal.onsets` + `drumgate.signal.transcribe` with the project's configs; the peer for the
class-agnostic column is librosa's `onset_detect` with its defaults. Needs ../shared/realdata
(relative to the repository root); without it the result says so and holds no rows.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MDB = ROOT.parent / "shared" / "realdata" / "b_drum_audio_onsets" / "MDBDrums" / "MDB Drums"
COMMAND = "python -m benchmarks musdb_accuracy"
HELD_OUT_SEEDS = (0, 1)  # never looked at while tuning on MDB Drums: a check that choices carry over
HELD_OUT_SESSIONS = 8
HELD_OUT_SECONDS = 30.0
KIT_CLASS = {"tom_high": "tom", "tom_mid": "tom", "tom_floor": "tom", "crash": "cymbal", "ride": "cymbal"}


def _held_out(params: Any, onset_params: Any, quick: bool) -> dict[str, Any]:
    """Drum-stem mixes (every mic of a session summed to mono) of the multi-mic kit sequenced by
    Groove MIDI performances (`benchmarks.multimic`): a real kit and real playing that
    MDB Drums does not share, with exact truth. Pooled per class like MDB Drums."""
    import soundfile as sf

    from benchmarks import multimic
    from drumgate.signal.transcribe_eval import averages, pooled, score_signal

    if not multimic.available():
        return {"notes": ["the multi-mic kit or the Groove MIDI performances are absent: nothing measured"]}
    scores = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in HELD_OUT_SEEDS[:1] if quick else HELD_OUT_SEEDS:
            corpus = multimic.make_multimic_corpus(
                Path(folder) / str(seed), seed, HELD_OUT_SESSIONS // 4 if quick else HELD_OUT_SESSIONS, HELD_OUT_SECONDS
            )
            for name, truth in sorted(corpus["sessions"].items()):
                stems = [
                    sf.read(str(wav), always_2d=True)[0].mean(axis=1)
                    for wav in sorted((Path(folder) / str(seed) / name).glob("*.wav"))
                ]
                mix = np.sum(stems, axis=0)
                mix *= 0.9 / max(float(np.max(np.abs(mix))), 1e-9)
                reference: dict[str, list[float]] = {}
                for kit_class, times in truth["hits"].items():
                    reference.setdefault(KIT_CLASS.get(kit_class, kit_class), []).extend(times)
                every = [t for times in reference.values() for t in times]
                scores.append(score_signal(f"{seed}/{name}", mix, corpus["sr"], reference, every, onset_params, params))
    return {"mixes": len(scores), "pooled": pooled(scores), "onsets": round(averages(scores)["onsets"], 4)}


def _peer_onsets(track: str) -> tuple[float, float]:
    import librosa

    from drumgate.signal.audio import read_mono
    from drumgate.signal.transcribe import combine_onsets
    from drumgate.signal.transcribe_eval import COMBINE_S, _f, read_annotations

    signal, sr = read_mono(MDB / "audio" / "drum_only" / f"{track}_Drum.wav")
    started = time.perf_counter()
    found = librosa.onset.onset_detect(y=signal, sr=sr, units="time")
    seconds = time.perf_counter() - started
    every = [t for t, _ in read_annotations(MDB / "annotations" / "class" / f"{track}_class.txt")]
    return _f(combine_onsets(every, COMBINE_S), combine_onsets(found, COMBINE_S)), seconds


def run(quick: bool) -> dict[str, Any]:
    from drumgate.io.jsonio import read_json
    from drumgate.signal.onsets import load_onset_params
    from drumgate.signal.transcribe import TranscribeParams
    from drumgate.signal.transcribe_eval import averages, mdb_tracks, pooled, score_track, table_rows
    from drumgate.workspace import Workspace

    if not MDB.is_dir():
        return {"command": COMMAND, "rows": [], "notes": [f"{MDB} is absent: nothing measured"]}
    ws = Workspace(ROOT)
    params = TranscribeParams.from_mapping(read_json(ws.configs / "musdb.json")["transcription"])
    onset_params = load_onset_params(ws)
    tracks = mdb_tracks(MDB)
    repeats = 1 if quick else 3
    runs = [[score_track(MDB, track, onset_params, params) for track in tracks] for _ in range(repeats)]
    scores = runs[-1]
    rows = table_rows(scores)
    peer = {track: _peer_onsets(track) for track in tracks}
    for row in rows:
        if row["track"] in peer:
            row["librosa_onsets"] = f"{peer[row['track']][0]:.3f}"
    rows[-2]["librosa_onsets"] = f"{np.mean([p[0] for p in peer.values()]):.3f}"
    drumgate_s = statistics.median(sum(s.seconds for s in run_scores) for run_scores in runs)
    peer_s = sum(p[1] for p in peer.values())
    return {
        "command": COMMAND,
        "rows": rows,
        "mean": averages(scores),
        "pooled": pooled(scores),
        "held_out": _held_out(params, onset_params, quick),
        "drumgate_seconds_total": round(drumgate_s, 3),
        "librosa_onset_seconds_total": round(peer_s, 3),
        "time_ratio_drumgate_over_librosa": round(drumgate_s / peer_s, 2) if peer_s else None,
        "notes": [
            "drumgate time = onset detection + NMF transcription; librosa time = onset detection only",
            "class-agnostic columns combine reference and estimate onsets within 30 ms",
            "pooled: per class, precision/recall/F of the hits on the tracks that hold the class (counts summed"
            " over tracks) and hits_where_absent, the hits given on the tracks that do not (all false)",
            "held_out: the same figures on seeded drum-stem mixes of the real multi-mic kit played by Groove MIDI"
            " performances (benchmarks.multimic), never used to tune; cymbal = crash + ride there",
        ],
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from benchmarks.__main__ import print_result

    print(f"$ {COMMAND}")
    print_result("musdb_accuracy", run(quick="--quick" in sys.argv))

"""Onset detection speed vs `librosa.onset.onset_detect` defaults, and MDB Drums F-measure vs librosa."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

from drumgate.fixtures.synth import groove, render
from drumgate.onsets import detect_onsets, load_onset_params
from drumgate.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
MDB = ROOT.parent / "shared" / "realdata" / "b_drum_audio_onsets" / "MDBDrums" / "MDB Drums"


def _median_time(action, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _librosa_times(signal: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.onset.onset_detect(y=signal, sr=sr, units="time")


def _mdb_table(params) -> list[dict]:
    import mir_eval

    from drumgate.audio import read_mono

    rows = []
    for wav in sorted((MDB / "audio" / "drum_only").glob("*_Drum.wav")):
        name = wav.name.removesuffix("_Drum.wav")
        lines = (MDB / "annotations" / "class" / f"{name}_class.txt").read_text().splitlines()
        ref = np.array(sorted({float(line.split("\t")[0]) for line in lines if line.strip()}))
        signal, sr = read_mono(wav)
        ours = mir_eval.onset.f_measure(ref, detect_onsets(signal, sr, params).times_s)[0]
        theirs = mir_eval.onset.f_measure(ref, _librosa_times(signal, sr))[0]
        rows.append({"track": name, "drumgate_f": ours, "librosa_f": theirs})
    return rows


def run(quick: bool) -> dict:
    params = load_onset_params(Workspace(ROOT))
    seconds = 20.0 if quick else 60.0
    sr = 44100
    signal = render(groove(seconds, 120, seed=5), seconds, sr, seed=5)
    _librosa_times(signal[:sr], sr)
    repeats = 3 if quick else 5
    ours = _median_time(lambda: detect_onsets(signal, sr, params), repeats)
    theirs = _median_time(lambda: _librosa_times(signal, sr), repeats)
    figures: dict = {
        "audio_s": seconds, "drumgate_rtf": seconds / ours, "librosa_rtf": seconds / theirs,
        "speed_ratio": theirs / ours,
    }
    print(f"speed on {seconds:.0f} s of 44.1 kHz audio: drumgate {figures['drumgate_rtf']:.0f}x real time, "
          f"librosa {figures['librosa_rtf']:.0f}x real time ({figures['speed_ratio']:.2f}x)")
    if MDB.is_dir():
        table = _mdb_table(params)
        print(f"{'MDB Drums track':<24}{'drumgate F':>12}{'librosa F':>12}")
        for row in table:
            print(f"{row['track']:<24}{row['drumgate_f']:>12.3f}{row['librosa_f']:>12.3f}")
        mean_ours = float(np.mean([r["drumgate_f"] for r in table]))
        mean_theirs = float(np.mean([r["librosa_f"] for r in table]))
        print(f"{'mean':<24}{mean_ours:>12.3f}{mean_theirs:>12.3f}")
        figures.update({"mdb": table, "mdb_mean_drumgate": mean_ours, "mdb_mean_librosa": mean_theirs})
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

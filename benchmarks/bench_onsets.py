"""Onset detection speed vs `librosa.onset.onset_detect` defaults, and MDB Drums F-measure vs librosa."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from benchmarks._common import median_seconds
from drumgate.fixtures.synth import groove, render
from drumgate.signal.onsets import detect_onsets, load_onset_params
from drumgate.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
MDB = ROOT.parent / "shared" / "realdata" / "b_drum_audio_onsets" / "MDBDrums" / "MDB Drums"




def _librosa_times(signal: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.onset.onset_detect(y=signal, sr=sr, units="time")


def _merged(times: np.ndarray, within_s: float) -> np.ndarray:
    """Annotations closer than `within_s` counted once (the convention of madmom's onset evaluation)."""
    kept: list[float] = []
    for time_s in times:
        if not kept or time_s - kept[-1] > within_s:
            kept.append(float(time_s))
    return np.array(kept)


def _mdb_table(params) -> list[dict]:
    import mir_eval

    from drumgate.signal.audio import read_mono

    rows = []
    for wav in sorted((MDB / "audio" / "drum_only").glob("*_Drum.wav")):
        name = wav.name.removesuffix("_Drum.wav")
        lines = (MDB / "annotations" / "class" / f"{name}_class.txt").read_text().splitlines()
        ref = np.array(sorted({float(line.split("\t")[0]) for line in lines if line.strip()}))
        signal, sr = read_mono(wav)
        ours_times = detect_onsets(signal, sr, params).times_s
        theirs_times = _librosa_times(signal, sr)
        merged = _merged(ref, 0.03)
        rows.append({
            "track": name,
            "drumgate_f": mir_eval.onset.f_measure(ref, ours_times)[0],
            "librosa_f": mir_eval.onset.f_measure(ref, theirs_times)[0],
            "drumgate_f_merged30": mir_eval.onset.f_measure(merged, ours_times)[0],
            "librosa_f_merged30": mir_eval.onset.f_measure(merged, theirs_times)[0],
        })
    return rows


def run(quick: bool) -> dict:
    params = load_onset_params(Workspace(ROOT))
    seconds = 20.0 if quick else 60.0
    sr = 44100
    signal = render(groove(seconds, 120, seed=5), seconds, sr, seed=5)
    _librosa_times(signal[:sr], sr)
    repeats = 3 if quick else 5
    ours = median_seconds(lambda: detect_onsets(signal, sr, params), repeats)
    theirs = median_seconds(lambda: _librosa_times(signal, sr), repeats)
    figures: dict = {
        "audio_s": seconds, "drumgate_rtf": seconds / ours, "librosa_rtf": seconds / theirs,
        "speed_ratio": theirs / ours, "load_average": os.getloadavg()[0],
    }
    print(f"speed on {seconds:.0f} s of 44.1 kHz audio: drumgate {figures['drumgate_rtf']:.0f}x real time, "
          f"librosa {figures['librosa_rtf']:.0f}x real time ({figures['speed_ratio']:.2f}x); "
          f"load average {figures['load_average']:.2f}")
    if MDB.is_dir():
        table = _mdb_table(params)
        columns = ["drumgate_f", "librosa_f", "drumgate_f_merged30", "librosa_f_merged30"]
        print(f"{'MDB Drums track':<24}{'drumgate F':>12}{'librosa F':>12}{'dg F (30ms)':>13}{'lr F (30ms)':>13}")
        for row in table:
            print(f"{row['track']:<24}" + "".join(f"{row[c]:>{12 if i < 2 else 13}.3f}" for i, c in enumerate(columns)))
        means = {c: float(np.mean([r[c] for r in table])) for c in columns}
        print(f"{'mean':<24}" + "".join(f"{means[c]:>{12 if i < 2 else 13}.3f}" for i, c in enumerate(columns)))
        print("(30ms: annotations closer than 30 ms counted once, as madmom's onset evaluation does)")
        figures.update({
            "mdb": table, "mdb_mean_drumgate": means["drumgate_f"], "mdb_mean_librosa": means["librosa_f"],
            "mdb_mean_drumgate_merged30": means["drumgate_f_merged30"],
            "mdb_mean_librosa_merged30": means["librosa_f_merged30"],
        })
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

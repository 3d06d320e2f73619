"""Class-agnostic onset F-measure on the real MDB Drums drum-only mixes (human annotations)."""

from __future__ import annotations

from pathlib import Path

import mir_eval
import numpy as np
import pytest

from drumgate.signal.audio import read_mono
from drumgate.signal.onsets import detect_onsets, load_onset_params
from drumgate.workspace import Workspace

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
MDB = PROJECT_ROOT.parent / "shared" / "realdata" / "b_drum_audio_onsets" / "MDBDrums" / "MDB Drums"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not MDB.is_dir(), reason="../shared/realdata MDB Drums not present"),
]


def read_annotation(path: Path) -> np.ndarray:
    """`time \\t LABEL` lines (spaces around the tab); simultaneous strokes count once."""
    times = {float(line.split("\t")[0].strip()) for line in path.read_text().splitlines() if line.strip()}
    return np.array(sorted(times))


def mdb_tracks() -> list[tuple[str, Path, Path]]:
    tracks = []
    for wav in sorted((MDB / "audio" / "drum_only").glob("*_Drum.wav")):
        name = wav.name.removesuffix("_Drum.wav")
        tracks.append((name, wav, MDB / "annotations" / "class" / f"{name}_class.txt"))
    return tracks


def test_mdb_drums_average_f_measure() -> None:
    params = load_onset_params(Workspace(PROJECT_ROOT))
    scores = {}
    for name, wav, annotation in mdb_tracks():
        signal, sr = read_mono(wav)
        onsets = detect_onsets(signal, sr, params)
        f, p, r = mir_eval.onset.f_measure(read_annotation(annotation), onsets.times_s, window=0.05)
        scores[name] = f
        print(f"{name}: F={f:.3f} P={p:.3f} R={r:.3f}")
    assert len(scores) == 5
    assert np.mean(list(scores.values())) >= 0.85, scores

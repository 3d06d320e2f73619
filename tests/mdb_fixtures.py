"""A small MDB Drums tree in the release's real layout, generated: drum-only WAVs and annotation files
whose lines are `time \\t LABEL` with spaces around the tab, as in CarlSouthall/MDBDrums."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drumgate.fixtures.synth import write_wav

RATE = 44_100
# (subclass, class) per beat position of an 8th-note bar at 120 bpm; every bar is the same groove.
GROOVE = (("KD", "KD"), ("CHH", "HH"), ("SD", "SD"), ("CHH", "HH"), ("KD", "KD"), ("OHH", "HH"), ("SST", "SD"),
          ("CHH", "HH"))
EIGHTH_S = 0.25


@dataclass
class MdbTree:
    root: Path
    tracks: list[str]
    annotations: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  # subclass lines per track

    def audio(self, track: str) -> Path:
        return self.root / "audio" / "drum_only" / f"{track}_Drum.wav"

    def subclass_file(self, track: str) -> Path:
        return self.root / "annotations" / "subclass" / f"{track}_subclass.txt"


def _lines(hits: list[tuple[float, str]]) -> str:
    return "".join(f"{time:.6f} \t {label} \n" for time, label in hits)


def make_mdb_tree(root: Path, songs: tuple[str, ...] = ("Rock", "Punk", "Beatles"), bars: int = 4) -> MdbTree:
    """One track per song: a crash on the downbeat, then `bars` bars of GROOVE, clicks in the audio."""
    tree = MdbTree(root, [f"MusicDelta_{song}" for song in songs])
    rng = np.random.default_rng(7)
    for index, track in enumerate(tree.tracks):
        subclass: list[tuple[float, str]] = [(0.02, "CRC")]
        classes: list[tuple[float, str]] = [(0.02, "CY")]
        for step in range(bars * len(GROOVE)):
            time = 0.02 + step * EIGHTH_S + 0.001 * index
            sub, cls = GROOVE[step % len(GROOVE)]
            subclass.append((time, sub))
            classes.append((time, cls))
        seconds = subclass[-1][0] + 1.0
        signal = (rng.standard_normal(int(seconds * RATE)) * 0.001).astype(np.float32)
        for time, _ in subclass:
            start = int(time * RATE)
            signal[start : start + 200] += np.hanning(200).astype(np.float32) * 0.5
        write_wav(tree.audio(track), signal, sr=RATE)
        for folder, hits in (("subclass", subclass), ("class", classes)):
            path = root / "annotations" / folder / f"{track}_{folder}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_lines(hits), encoding="utf-8")
        tree.annotations[track] = subclass
    return tree

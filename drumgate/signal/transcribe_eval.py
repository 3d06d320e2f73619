"""Accuracy of the MUSDB drum-stem events on MDB Drums drum-only mixes (human annotations).

Layout read: `<MDB>/audio/drum_only/<Track>_Drum.wav` and `<MDB>/annotations/class/<Track>_class.txt`
(`time \\t LABEL` with spaces around the tab; classes KD, SD, HH, TT, CY, OT). Per class
(kick = KD, snare = SD, hi-hat = HH; tom = TT and cymbal = CY are reported without a target)
the F-measure at 50 ms (`mir_eval.onset.f_measure`) is computed on tracks whose annotations
hold that class; a class absent from a track's annotations is `None` there and left out of the
average. Class-agnostic F compares every distinct event time
with every annotated time, both sides first combined within 30 ms (simultaneous hits of several
instruments are one onset, as in onset-detection evaluation); the uncombined figure is reported
too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from drumgate.errors import DrumgateError
from drumgate.signal.onsets import OnsetParams, detect_onsets
from drumgate.signal.transcribe import TranscribeParams, combine_onsets, transcribe

CLASS_MAP = {"kick": "KD", "snare": "SD", "hihat": "HH", "tom": "TT", "cymbal": "CY"}
WINDOW_S = 0.05
COMBINE_S = 0.03
TARGETS = {"kick": 0.80, "snare": 0.65, "hihat": 0.65, "onsets": 0.85}


@dataclass(frozen=True)
class TrackScore:
    track: str
    per_class: dict[str, float | None]
    references: dict[str, int]
    onsets: float
    onsets_uncombined: float
    seconds: float
    estimates: dict[str, int] = field(default_factory=dict)  # hits drumgate gave per class
    matched: dict[str, int] = field(default_factory=dict)  # of those, matched to a reference (50 ms)


def read_annotations(path: Path) -> list[tuple[float, str]]:
    rows: list[tuple[float, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            rows.append((float(parts[0].strip()), parts[1].strip()))
        except (ValueError, IndexError) as exc:
            raise DrumgateError("expected `time \\t LABEL`", path=path, line=number) from exc
    return rows


def mdb_tracks(mdb_root: Path) -> list[str]:
    audio = sorted((mdb_root / "audio" / "drum_only").glob("*_Drum.wav"))
    return [path.name.removesuffix("_Drum.wav") for path in audio]


def _f(reference: np.ndarray, estimate: np.ndarray) -> float:
    if len(reference) == 0 or len(estimate) == 0:
        return 0.0
    return float(_mir_eval().onset.f_measure(reference, estimate, window=WINDOW_S)[0])


def _matched(reference: np.ndarray, estimate: np.ndarray) -> int:
    """How many estimates pair one-to-one with a reference within the window."""
    if len(reference) == 0 or len(estimate) == 0:
        return 0
    return len(_mir_eval().util.match_events(reference, estimate, WINDOW_S))


def _mir_eval() -> ModuleType:
    try:
        import mir_eval  # the scorer of the evaluation only: the test and bench extras install it
    except ModuleNotFoundError:
        raise DrumgateError(
            "scoring needs the Python package 'mir_eval', which is not installed",
            hint="fix: pip install 'drumgate[bench]'",
        ) from None
    return mir_eval


def score_track(
    mdb_root: Path,
    track: str,
    onset_params: OnsetParams | None = None,
    params: TranscribeParams | None = None,
) -> TrackScore:
    from drumgate.signal.audio import read_mono

    signal, sr = read_mono(mdb_root / "audio" / "drum_only" / f"{track}_Drum.wav")
    annotations = read_annotations(mdb_root / "annotations" / "class" / f"{track}_class.txt")
    reference = {label: [t for t, name in annotations if name == code] for label, code in CLASS_MAP.items()}
    return score_signal(track, signal, sr, reference, [t for t, _ in annotations], onset_params, params)


def score_signal(
    name: str,
    signal: np.ndarray,
    sr: int,
    reference: Mapping[str, Sequence[float]],
    every: Sequence[float],
    onset_params: OnsetParams | None = None,
    params: TranscribeParams | None = None,
) -> TrackScore:
    """Transcribe `signal` and score it against `reference` (class -> times; a class without times
    is not scored) and `every` annotated time (the class-agnostic columns)."""
    started = time.perf_counter()
    onsets = detect_onsets(signal, sr, onset_params)
    hits = transcribe(signal, sr, onsets.times_s, params).hits
    seconds = time.perf_counter() - started
    per_class: dict[str, float | None] = {}
    references: dict[str, int] = {}
    estimates: dict[str, int] = {}
    matched: dict[str, int] = {}
    for label in CLASS_MAP:
        truth = np.sort(np.asarray(reference.get(label, ()), dtype=np.float64))
        references[label] = len(truth)
        estimate = np.array([hit.time_s for hit in hits if hit.label == label])
        per_class[label] = _f(truth, estimate) if len(truth) else None
        estimates[label] = len(estimate)
        matched[label] = _matched(truth, estimate)
    found = [hit.time_s for hit in hits]
    return TrackScore(
        name,
        per_class,
        references,
        _f(combine_onsets(every, COMBINE_S), combine_onsets(found, COMBINE_S)),
        _f(np.unique(every), np.unique(found)),
        seconds,
        estimates,
        matched,
    )


def averages(scores: Sequence[TrackScore]) -> dict[str, float]:
    result: dict[str, float] = {}
    for label in CLASS_MAP:
        values = [s.per_class[label] for s in scores if s.per_class[label] is not None]
        result[label] = float(np.mean(values)) if values else 0.0
    result["onsets"] = float(np.mean([s.onsets for s in scores])) if scores else 0.0
    result["onsets_uncombined"] = float(np.mean([s.onsets_uncombined for s in scores])) if scores else 0.0
    return result


def table_rows(scores: Sequence[TrackScore]) -> list[dict[str, object]]:
    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rows: list[dict[str, object]] = [
        {
            "track": s.track,
            **{label: cell(s.per_class[label]) for label in CLASS_MAP},
            "onsets": cell(s.onsets),
            "onsets_uncombined": cell(s.onsets_uncombined),
            "refs": "/".join(str(s.references[label]) for label in CLASS_MAP),
            "seconds": round(s.seconds, 3),
        }
        for s in scores
    ]
    mean = averages(scores)
    rows.append({"track": "mean", **{k: f"{v:.3f}" for k, v in mean.items()}, "refs": "", "seconds": ""})
    rows.append(
        {
            "track": "target",
            **{k: f">= {v:.2f}" for k, v in TARGETS.items()},
            "onsets_uncombined": "",
            "refs": "",
            "seconds": "",
        }
    )
    return rows


def pooled(scores: Sequence[TrackScore]) -> dict[str, dict[str, float | int]]:
    """Per class over all tracks: precision, recall and F of the hits on tracks that hold the class
    (pooled counts, not a mean of track figures), and the hits given on tracks that do not."""
    result: dict[str, dict[str, float | int]] = {}
    for label in CLASS_MAP:
        scored = [s for s in scores if s.references[label]]
        references = sum(s.references[label] for s in scored)
        estimates = sum(s.estimates.get(label, 0) for s in scored)
        matched = sum(s.matched.get(label, 0) for s in scored)
        precision = matched / estimates if estimates else 0.0
        recall = matched / references if references else 0.0
        result[label] = {
            "references": references,
            "hits": estimates,
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f": round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0,
            "hits_where_absent": sum(s.estimates.get(label, 0) for s in scores if not s.references[label]),
        }
    return result

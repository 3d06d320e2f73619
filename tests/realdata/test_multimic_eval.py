"""The multi-mic evaluation set (real kit, real performances) and `events cambridge` on it."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks import multimic
from benchmarks.bench_cambridge_real import DRUMGATE, MAX_BLEED_PER_MIN, TARGETS, add_score, drumgate_scores, prf
from drumgate.io.jsonio import read_jsonl


def _digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.wav")))).hexdigest()


def test_same_seed_same_sessions_other_seed_other_sessions(tmp_path) -> None:
    first = multimic.make_multimic_corpus(tmp_path / "a", seed=3, sessions=2, seconds=6.0)
    again = multimic.make_multimic_corpus(tmp_path / "b", seed=3, sessions=2, seconds=6.0)
    multimic.make_multimic_corpus(tmp_path / "c", seed=4, sessions=2, seconds=6.0)
    assert first == again and _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_truth_is_where_the_close_mic_hears_its_drum(tmp_path) -> None:
    corpus = multimic.make_multimic_corpus(tmp_path, seed=5, sessions=2, seconds=10.0)
    checked = 0
    for name, truth in corpus["sessions"].items():
        assert all(f[:3].rstrip("_").isdigit() for f in truth["stems"])  # NN_Name.wav
        for file_name, stem in truth["stems"].items():
            signal, sr = sf.read(tmp_path / name / file_name, dtype="float32")
            assert sr == multimic.SR and np.max(np.abs(signal)) < 1.0
            if stem["class"] not in ("kick", "snare") or not stem["own_hits"]:
                continue
            for time_s in stem["own_hits"][:10]:
                start = round(time_s * sr)
                before = np.max(np.abs(signal[max(0, start - 441) : start - 10]), initial=0.0)
                after = np.max(np.abs(signal[start : start + 441]))
                assert after > 2 * before, (file_name, time_s)  # the attack starts at the truth, not before
                checked += 1
    assert checked >= 10


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[dict, list]:
    """`drumgate ingest cambridge` and `drumgate events cambridge`, run for real on a seeded set."""
    from benchmarks.bench_cambridge_real import workspace

    ws = workspace(tmp_path_factory.mktemp("multimic"))
    corpus = multimic.make_multimic_corpus(ws / "data" / "raw" / "cambridge", seed=5, sessions=4, seconds=30.0,
                                           ride_mic=True)
    for argv in (["ingest", "cambridge"], ["events", "cambridge"]):
        done = subprocess.run([*DRUMGATE, *argv], cwd=ws, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    return corpus, read_jsonl(ws / "data" / "manifests" / "cambridge_events.jsonl")


def test_per_class_f_meets_the_targets(evaluated) -> None:
    """Issue 17: F at 50 ms >= 0.90 for kick, snare and hi-hat, >= 0.80 for the toms pooled."""
    corpus, events = evaluated
    counts, _ = drumgate_scores(corpus["sessions"], events)
    scores = {cls: prf(counts[cls])[2] for cls in TARGETS if cls in counts and counts[cls][2]}
    assert set(scores) == set(TARGETS)
    assert all(scores[cls] >= TARGETS[cls] for cls in TARGETS), scores


def test_bleed_only_tom_mics_stay_almost_silent(evaluated) -> None:
    """Issue 17: a tom mic whose drum is never struck gives at most one false event a minute."""
    corpus, events = evaluated
    _, bleed = drumgate_scores(corpus["sessions"], events)
    toms = [row["per_min"] for row in bleed if row["class"].startswith("tom")]
    assert toms and max(toms) <= MAX_BLEED_PER_MIN, toms


def test_the_hat_is_called_open_or_closed_as_it_was_played(evaluated) -> None:
    """A closed hat played in eighths and sixteenths stays closed: its ring is read before the mic's next
    onset (reading the next hit as ring called nearly every such hat open); an open hat is still open."""
    corpus, events = evaluated
    called: dict[tuple[str, str], int] = {}
    for name, truth in corpus["sessions"].items():
        hats = np.array(truth["hits"].get("hihat", []))
        opened = set(truth["open_hat_hits"])
        for event in events:
            if event["session_id"] != name or event["label"] != "hihat" or not len(hats):
                continue
            nearest = float(hats[np.argmin(np.abs(hats - event["onset_s"]))])
            if abs(nearest - event["onset_s"]) <= 0.05:
                played = "open" if nearest in opened else "closed"
                said = "open" if "open" in event["techniques"] else "closed"
                called[played, said] = called.get((played, said), 0) + 1
    closed = called.get(("closed", "closed"), 0) + called.get(("closed", "open"), 0)
    assert closed >= 50 and called.get(("closed", "closed"), 0) >= 0.9 * closed, called
    opens = called.get(("open", "open"), 0) + called.get(("open", "closed"), 0)
    assert opens == 0 or called.get(("open", "open"), 0) >= 0.6 * opens, called


def test_a_ride_mic_gives_rides_only_where_the_ride_is_played(evaluated) -> None:
    """A close ride mic whose ride is never struck gave 70-90 false rides a minute (its leak from the
    kit); `ride` is now among the struck classes. Where the ride is played, its hits are found."""
    corpus, events = evaluated
    played, silent = [], []
    for name, truth in corpus["sessions"].items():
        found = [e["onset_s"] for e in events if e["session_id"] == name and e["label"] == "ride"]
        hits = truth["hits"].get("ride", [])
        (played if hits else silent).append((name, hits, found, truth["seconds"]))
    assert played and silent, "the seeded set has a session of each kind"
    for name, _, found, audio_seconds in silent:  # false rides per minute of audio: a count, not a speed
        assert len(found) / audio_seconds * 60 <= MAX_BLEED_PER_MIN, (name, len(found))
    for name, hits, found, _ in played:
        if len(hits) >= 20:  # a ride played through the take; a few strokes may fall under the struck test
            counts: dict[str, list[int]] = {}
            add_score(counts, "ride", hits, found)
            assert prf(counts["ride"])[2] >= 0.9, (name, len(hits), len(found))

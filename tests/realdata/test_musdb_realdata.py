"""MUSDB ingest end to end on the real MUSDB-layout sample; transcription accuracy on MDB Drums."""

from __future__ import annotations

import pytest

from drumgate import cli
from drumgate.io.jsonio import read_json, read_jsonl
from drumgate.signal.onsets import load_onset_params
from drumgate.signal.transcribe import TranscribeParams
from drumgate.signal.transcribe_eval import TARGETS, averages, mdb_tracks, score_track
from drumgate.workspace import Workspace
from tests.conftest import PROJECT_ROOT, REALDATA

MUSDB_SAMPLE = REALDATA / "c_multitrack_stems" / "sigsep-mus-eval__DERIVED_wav_decode"
MDB = REALDATA / "b_drum_audio_onsets" / "MDBDrums" / "MDB Drums"


def test_ingest_real_musdb_sample(workspace: Workspace, capsys) -> None:
    if not MUSDB_SAMPLE.is_dir():
        pytest.skip(f"{MUSDB_SAMPLE} is absent")
    assert cli.main(["ingest", "musdb", "--workspace", str(workspace.root), "--root", str(MUSDB_SAMPLE)]) == 0
    assert capsys.readouterr().err == ""
    (session,) = read_jsonl(workspace.sessions_manifest("musdb_hq"))
    assert session["session_id"] == "Music Delta - 80s Rock"
    assert session["split"] == "train" and session["status"] == "ok"
    assert session["attributes"] == {"mdb_drums_song": True, "release_split": "train", "song_key": "musicdelta80srock"}
    assert {f["format"]["channels"] for f in session["files"]} == {2}
    assert {f["format"]["rate"] for f in session["files"]} == {44100}
    events = read_jsonl(workspace.events_manifest("musdb_hq"))
    assert {"kick", "snare", "hihat"} <= {e["label"] for e in events}
    assert all(e["label_source"] == "derived" for e in events)
    assert all(e["attributes"]["song_key"] == "musicdelta80srock" for e in events)
    provenance = read_jsonl(workspace.provenance("musdb_hq"))
    assert len(provenance[0]["source_files"]) == 5 and all(s["sha256"] for s in provenance[0]["source_files"])


def test_transcription_accuracy_on_mdb_drums() -> None:
    if not MDB.is_dir():
        pytest.skip(f"{MDB} is absent")
    ws = Workspace(PROJECT_ROOT)
    params = TranscribeParams.from_mapping(read_json(ws.configs / "musdb.json")["transcription"])
    onset_params = load_onset_params(ws)
    scores = [score_track(MDB, track, onset_params, params) for track in mdb_tracks(MDB)]
    assert len(scores) == 5
    mean = averages(scores)
    for key, target in TARGETS.items():
        assert mean[key] >= target, (key, mean[key], target)

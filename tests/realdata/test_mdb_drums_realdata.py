"""`drumgate ingest mdb_drums` on the real MDB Drums files, then `drumgate health` on its events.

Expected values are read from the real files themselves (annotation lines, WAV headers) and from
../shared/realdata/MANIFEST.csv (sha256 and size of each file), never typed in."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
import soundfile as sf

from drumgate import cli
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import Workspace
from tests.conftest import REALDATA

MDB = REALDATA / "b_drum_audio_onsets" / "MDBDrums" / "MDB Drums"
MANIFEST_PREFIX = "b_drum_audio_onsets/MDBDrums/MDB Drums/"


@pytest.fixture
def ingested(workspace: Workspace, capsys) -> Workspace:
    if not MDB.is_dir():
        pytest.skip(f"{MDB} is absent")
    assert cli.main(["ingest", "mdb_drums", "--root", str(MDB), "--date", "2025-03-04"]) == 0
    assert capsys.readouterr().err == ""
    return workspace


def annotation_labels(track: str) -> list[str]:
    text = (MDB / "annotations" / "subclass" / f"{track}_subclass.txt").read_text(encoding="utf-8")
    return [line.split("\t")[1].strip() for line in text.splitlines() if line.strip()]


def test_every_real_annotation_is_one_event(ingested: Workspace) -> None:
    tracks = sorted(path.name.removesuffix("_Drum.wav") for path in (MDB / "audio" / "drum_only").glob("*_Drum.wav"))
    events = read_jsonl(ingested.events_manifest("mdb_drums"))
    assert sorted({row["session_id"] for row in events}) == tracks
    for track in tracks:
        mine = [row for row in events if row["session_id"] == track]
        assert Counter(row["attributes"]["annotation"] for row in mine) == Counter(annotation_labels(track))
    assert {row["label_source"] for row in events} == {"annotation"}


def test_real_sessions_carry_the_wav_format(ingested: Workspace) -> None:
    for session in read_jsonl(ingested.sessions_manifest("mdb_drums")):
        entry, labels = session["files"]
        info = sf.info(str(MDB / entry["path"]))
        assert entry["format"]["rate"] == info.samplerate and entry["format"]["frames"] == info.frames
        assert entry["format"]["subtype"] == info.subtype and session["status"] == "ok"
        assert labels["role"] == "annotation" and labels["status"] == "ok" and (MDB / labels["path"]).is_file()


def test_provenance_hashes_match_the_published_manifest(ingested: Workspace) -> None:
    with open(REALDATA / "MANIFEST.csv", encoding="utf-8", newline="") as handle:
        published = {row["local_path"]: (row["sha256"], int(row["size_bytes"])) for row in csv.DictReader(handle)}
    sources = [src for row in read_jsonl(ingested.provenance("mdb_drums")) for src in row["source_files"]]
    assert len(sources) == 2 * len(read_jsonl(ingested.sessions_manifest("mdb_drums")))
    for source in sources:
        assert published[MANIFEST_PREFIX + source["path"]] == (source["sha256"], source["bytes"])


def test_real_events_reach_health(ingested: Workspace, capsys) -> None:
    events = ingested.events_manifest("mdb_drums")
    output = ingested.root / "health.json"
    code = cli.main(["health", "--events", str(events), "--output", str(output),
                     "--html-output", str(output.with_suffix(".html")), "--date", "2025-03-04"])
    report = json.loads(output.read_text(encoding="utf-8"))
    assert code == 0 and report["status"] == "pass"
    assert report["totals"]["events"] == len(read_jsonl(events))
    assert report["totals"]["unknown_label_events"] == 0

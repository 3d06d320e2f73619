from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import jsonschema
import mir_eval
import numpy as np
import pytest

from drumgate import cli
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.io.jsonio import read_json, read_jsonl
from drumgate.taxonomy import load_taxonomy
from ingest.cambridge.stems import load_stem_rules

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
REALDATA_HOUND = REALDATA / "d_corrupt_edge_cases" / "hound"


@pytest.fixture
def corpus(workspace):
    raw = workspace.root / "data" / "raw"
    return make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=1)


def _validate(ws, rows, schema):
    validator = jsonschema.Draft202012Validator(read_json(ws.schemas / schema))
    for row in rows:
        validator.validate(row)


@pytest.mark.parametrize(("name", "instrument", "role"), [
    ("01_KickIn.wav", "kick", "close"), ("KickOut", "kick", "close"), ("KickSub", "kick", "close"),
    ("Kick1", "kick", "close"), ("SnareUp", "snare", "close"), ("SnareDown", "snare", "close"),
    ("SnareSample1", "snare", "sample"), ("HiHat", "hihat", "close"), ("Tom1", "tom_high", "close"),
    ("Tom3", "tom_floor", "close"), ("Toms", "tom", "close"), ("Overheads", "cymbal", "overhead"),
    ("DrumsRoom", None, "room"), ("Cymbals", "crash", "close"), ("RevCymbal", "cymbal", "effect"),
    ("Tambourine", "tambourine", "percussion"), ("Drumkit1_Kick", "kick", "close"),
    ("01_Kick DTP 640 REX Condenser Capsule.wav", "kick", "close"), ("Snare MTP 440.wav", "snare", "close"),
    ("KickSample", "kick", "sample"), ("Bass", None, "non_drum"), ("Vox", None, "non_drum"),
    ("Gtr2", None, "non_drum"),
])
def test_stem_rules(workspace, name, instrument, role) -> None:
    rules = load_stem_rules(workspace, set(load_taxonomy(workspace).classes))
    match = rules.match(name)
    assert match is not None and (match.instrument, match.role) == (instrument, role)


def test_unmatched_stem_names_are_none(workspace) -> None:
    assert load_stem_rules(workspace).match("07_Theremin.wav") is None


def test_inventory_counts_tiers_zip_and_schema(workspace, corpus, capsys) -> None:
    assert cli.main(["ingest", "cambridge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "3 sessions (tiers: external 1, primary 2)" in out
    rows = read_jsonl(workspace.sessions_manifest("cambridge", dry_run=True))
    _validate(workspace, rows, "sessions.schema.json")
    by_id = {r["session_id"]: r for r in rows}
    archive = by_id["BetaCollective_NightDrive_Full"]
    assert archive["packaging"] == "zip" and archive["status"] == "ok"
    assert {f["role"] for f in archive["files"]} == {"sample", "close", "non_drum"}
    overhead = next(f for f in by_id["AlphaBand_FirstLight"]["files"] if f["role"] == "overhead")
    assert overhead["format"]["channels"] == 2 and overhead["format"]["bit_depth"] == 24
    assert by_id["GammaRay_OpenRoad"]["tier"] == "external"


def test_offline_tier_carries_sessions_forward(workspace, corpus, monkeypatch, capsys) -> None:
    assert cli.main(["ingest", "cambridge"]) == 0
    shutil.rmtree(workspace.root / "data" / "raw" / "cambridge_external")
    capsys.readouterr()
    assert cli.main(["ingest", "cambridge"]) == 0
    assert "tier external offline" in capsys.readouterr().out
    rows = {r["session_id"]: r for r in read_jsonl(workspace.sessions_manifest("cambridge"))}
    assert rows["GammaRay_OpenRoad"]["status"] == "tier_offline"
    prov = read_jsonl(workspace.provenance("cambridge"))
    _validate(workspace, prov, "provenance.schema.json")
    assert {p["session_id"] for p in prov} == set(rows)


def test_provenance_uses_checksum_manifest_and_licence(workspace, corpus, monkeypatch, tmp_path) -> None:
    from drumgate.cli import checksums

    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / "cache"))
    assert checksums.main(["generate", "cambridge"]) == 0
    assert cli.main(["ingest", "cambridge"]) == 0
    prov = {p["session_id"]: p for p in read_jsonl(workspace.provenance("cambridge"))}
    files = prov["BetaCollective_NightDrive_Full"]["source_files"]
    assert files[0]["path"] == "primary/BetaCollective_NightDrive_Full.zip" and len(files[0]["sha256"]) == 64
    assert prov["AlphaBand_FirstLight"]["licence"]["redistribution"] == "no"
    lock = read_json(workspace.lock_file("cambridge"))
    assert "data/manifests/cambridge_sessions.jsonl" in lock["artifacts"]


def test_no_data_needs_allow_empty(workspace, capsys) -> None:
    assert cli.main(["ingest", "cambridge"]) == 1
    dry_run = "data/manifests/cambridge_sessions_dryrun.jsonl"
    assert cli.main(["ingest", "cambridge", "--allow-empty", "--output", dry_run]) == 0
    assert read_jsonl(workspace.sessions_manifest("cambridge", dry_run=True)) == []


def test_bad_inputs_mark_their_session_and_run_continues(workspace, corpus, capsys) -> None:
    primary = workspace.root / "data" / "raw" / "cambridge"
    bad = primary / "Broken_Session"
    bad.mkdir()
    (bad / "01_Kick.wav").write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n")
    good = (primary / "AlphaBand_FirstLight" / "01_KickIn.wav").read_bytes()
    (bad / "02_Snare.wav").write_bytes(good[: len(good) // 2])
    (bad / "03_HiHat.wav").write_bytes(b"")
    (bad / "04_Loop").symlink_to("04_Loop")
    (bad / "05_Out.wav").symlink_to(workspace.root / "configs" / "datasets.toml")
    with zipfile.ZipFile(primary / "Bad_Archive_Full.zip", "w") as archive:
        archive.writestr("Bad_Archive_Full/01_Kick.wav", b"RIFF\x00\x00\x00\x00WAVEjunk")
    hound = REALDATA_HOUND / "testsamples" / "fuzz"
    if hound.is_dir():
        shutil.copy(next(iter(sorted(hound.glob("crash-*.wav")))), bad / "06_Tom1.wav")
    capsys.readouterr()
    assert cli.main(["ingest", "cambridge", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "Git LFS pointer" in err and "truncated audio" in err and "symlink loop" in err
    assert "escapes its storage root" in err and "Bad_Archive_Full.zip#Bad_Archive_Full/01_Kick.wav" in err
    rows = {r["session_id"]: r for r in read_jsonl(workspace.sessions_manifest("cambridge", dry_run=True))}
    assert rows["Broken_Session"]["status"] == "unreadable"
    assert rows["Bad_Archive_Full"]["status"] == "unreadable"
    assert rows["AlphaBand_FirstLight"]["status"] == "ok"
    assert all("\n" not in line for line in err.strip().splitlines())


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_events_accuracy_on_synthetic_sessions(workspace, seed, capsys) -> None:
    raw = workspace.root / "data" / "raw"
    corpus = make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=seed)
    assert cli.main(["ingest", "cambridge"]) == 0
    assert cli.main(["events", "cambridge"]) == 0
    events = read_jsonl(workspace.events_manifest("cambridge"))
    _validate(workspace, events, "events.schema.json")
    assert all(e["label_source"] == "derived" and 0 < e["confidence"] <= 1 for e in events)
    truth_by_class: dict[str, list[float]] = {}
    est_by_class: dict[str, list[float]] = {}
    for session_id, session in corpus["sessions"].items():
        offset = 100.0 * len(truth_by_class.get("_sessions", []))
        truth_by_class.setdefault("_sessions", []).append(session_id)
        for cls, times in session["hits"].items():
            truth_by_class.setdefault(cls, []).extend(t + offset for t in times)
            est_by_class.setdefault(cls, []).extend(
                e["onset_s"] + offset for e in events if e["session_id"] == session_id and e["label"] == cls)
    truth_by_class.pop("_sessions")
    scores = {cls: mir_eval.onset.f_measure(np.array(sorted(times)), np.array(sorted(est_by_class.get(cls, []))),
                                            window=0.05)[0] for cls, times in truth_by_class.items()}
    assert min(scores.values()) >= 0.95, scores
    crashes = [e for e in events if e["label"] == "crash" and e.get("variant") == "cymbal_overhead"]
    assert crashes and all(e["labels"] == ["crash", "cymbal"] for e in crashes)
    assert all(e["confidence"] < 0.6 for e in crashes)
    techniques = {t for e in events for t in e["techniques"]}
    assert {"flam", "ghost", "open", "closed"} <= techniques
    flams = [s["flams"][0] for s in corpus["sessions"].values()]
    snare_flams = [e["onset_s"] for e in events if e["label"] == "snare" and "flam" in e["techniques"]]
    assert len(snare_flams) >= 2 and all(min(abs(f - t) for f in flams) < 0.02 for t in snare_flams)


def test_a_session_with_a_fourth_tom_calls_its_tom3_a_rack_tom(workspace, corpus, capsys) -> None:
    session = next((workspace.root / "data" / "raw" / "cambridge").rglob("05_Tom3.wav")).parent
    three_toms = shutil.copytree(session, session.with_name("AlphaBand_ThreeToms"))
    shutil.copy(session / "05_Tom3.wav", session / "05_Tom4.wav")
    assert cli.main(["ingest", "cambridge", "--dry-run"]) == 0
    rows = read_jsonl(workspace.sessions_manifest("cambridge", dry_run=True))
    _validate(workspace, rows, "sessions.schema.json")
    toms = {(row["session_id"], f["path"].rsplit("_", 1)[-1]): (f["instrument"], f.get("session_rule"))
            for row in rows for f in row["files"] if f["rule"] in ("tom3", "tom_numbered")}
    assert toms == {
        (session.name, "Tom3.wav"): ("tom_low", "four_or_more_toms"),
        (session.name, "Tom4.wav"): ("tom_floor", "four_or_more_toms"),
        (three_toms.name, "Tom3.wav"): ("tom_floor", None),  # no Tom4 there: its Tom3 is the floor tom
    }

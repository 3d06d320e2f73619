"""MUSDB18-HQ ingest on the generated fixture tree: clean run, bad inputs, pseudo labels, determinism."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import mir_eval
import numpy as np
import pytest
import soundfile as sf

from drumgate import cli
from drumgate.fixtures import synth
from drumgate.fixtures.musdb import make_musdb_corpus, write_track
from drumgate.io.jsonio import read_json, read_jsonl
from drumgate.workspace import Workspace


@pytest.fixture(scope="module")
def corpus_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("musdb_template") / "musdb"
    return root, make_musdb_corpus(root, seed=3)


@pytest.fixture
def corpus(workspace: Workspace, corpus_template: tuple[Path, dict]) -> tuple[Path, dict]:
    root = workspace.root / "data" / "raw" / "musdb_hq"
    shutil.copytree(corpus_template[0], root)
    return root, corpus_template[1]


def _run(ws: Workspace, root: Path, *extra: str) -> int:
    return cli.main(["ingest", "musdb", "--workspace", str(ws.root), "--root", str(root), *extra])


def _validate(ws: Workspace, rows: list[dict], schema: str) -> None:
    validator = jsonschema.Draft202012Validator(read_json(ws.schemas / schema))
    for row in rows:
        validator.validate(row)


def test_clean_corpus_writes_valid_artifacts(workspace: Workspace, corpus: tuple[Path, dict], capsys) -> None:
    root, truth = corpus
    assert _run(workspace, root) == 0
    assert capsys.readouterr().err == ""
    events = read_jsonl(workspace.events_manifest("musdb_hq"))
    sessions = read_jsonl(workspace.sessions_manifest("musdb_hq"))
    provenance = read_jsonl(workspace.provenance("musdb_hq"))
    _validate(workspace, events, "events.schema.json")
    _validate(workspace, sessions, "sessions.schema.json")
    _validate(workspace, provenance, "provenance.schema.json")
    splits = {row["session_id"]: row["split"] for row in sessions}
    assert splits == {
        "Actions - One Minute Smile": "validation",
        "Atlantis Bound - It Was My Fault For Waiting": "train",
        "Al James - Schoolboy Facination": "test",
    }
    assert {row["label_source"] for row in events} == {"derived"}
    assert {"kick", "snare", "hihat"} <= {row["label"] for row in events}
    assert all(0.0 <= row["confidence"] <= 1.0 for row in events)
    keys = {row["session_id"]: row["attributes"]["song_key"] for row in sessions}
    assert keys["Al James - Schoolboy Facination"] == "aljamesschoolboyfascination"
    assert provenance[0]["licence"]["commercial_use"]
    lock = read_json(workspace.lock_file("musdb_hq"))
    assert "data/manifests/musdb_hq_events.jsonl" in lock["artifacts"]
    assert lock["artifacts"]["data/manifests/musdb_hq_events.jsonl"]["command"].startswith("drumgate ingest musdb")
    assert truth["tracks"]


def test_derived_events_find_the_synthetic_hits(workspace: Workspace, corpus: tuple[Path, dict]) -> None:
    root, truth = corpus
    assert _run(workspace, root) == 0
    events = read_jsonl(workspace.events_manifest("musdb_hq"))
    for name, track in truth["tracks"].items():
        for label in ("kick", "snare", "hihat"):
            reference = np.array([h["time_s"] for h in track["hits"] if h["instrument"] == label])
            estimate = np.array([e["onset_s"] for e in events if e["session_id"] == name and e["label"] == label])
            f_measure = mir_eval.onset.f_measure(reference, estimate, window=0.05)[0]
            assert f_measure >= 0.8, (name, label, f_measure)


def test_rerun_is_byte_identical(workspace: Workspace, corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    paths = [
        workspace.events_manifest("musdb_hq"),
        workspace.sessions_manifest("musdb_hq"),
        workspace.provenance("musdb_hq"),
    ]
    assert _run(workspace, root, "--date", "2026-01-02") == 0
    first = [p.read_bytes() for p in paths]
    assert _run(workspace, root, "--date", "2026-01-02") == 0
    assert [p.read_bytes() for p in paths] == first
    assert read_jsonl(paths[2])[0]["ingest_date"] == "2026-01-02"


def test_bad_inputs_are_one_line_each_and_the_run_continues(
    workspace: Workspace, corpus: tuple[Path, dict], capsys
) -> None:
    root, _ = corpus
    atlantis = root / "train" / "Atlantis Bound - It Was My Fault For Waiting"
    (atlantis / "vocals.wav").unlink()
    actions = root / "train" / "Actions - One Minute Smile"
    mono, sr = sf.read(actions / "bass.wav")
    sf.write(actions / "bass.wav", mono[:, 0], sr, subtype="PCM_16")
    sf.write(actions / "other.wav", mono[: len(mono) // 2], 22050, subtype="PCM_16")
    write_track(root / "test" / "NoSeparatorHere", 2.0, 120.0, seed=5)
    errata = root / "test" / "PR - Oh No"
    write_track(errata, 2.0, 120.0, seed=6)
    assert _run(workspace, root) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any("vocals.wav: missing stem vocals.wav" in line for line in err)
    assert any("bass.wav: mono stem" in line for line in err)
    assert any("other.wav: sample rate 22050 Hz" in line for line in err)
    assert any("stems of unequal length" in line for line in err)
    assert any("NoSeparatorHere: track folder name does not follow 'Artist - Title'" in line for line in err)
    assert any(line.startswith("warning: ") and "PR - Oh No" in line and "erratum" in line for line in err)
    assert all("Traceback" not in line for line in err)
    sessions = {row["session_id"]: row for row in read_jsonl(workspace.sessions_manifest("musdb_hq"))}
    assert len(sessions) == 5
    assert sessions["Atlantis Bound - It Was My Fault For Waiting"]["status"] == "missing_audio"
    assert sessions["PR - Oh No"]["warnings"]
    events = read_jsonl(workspace.events_manifest("musdb_hq"))
    assert {"Atlantis Bound - It Was My Fault For Waiting", "NoSeparatorHere"} <= {e["session_id"] for e in events}


def test_empty_root_is_a_finding(workspace: Workspace, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run(workspace, empty) == 1
    err = capsys.readouterr().err
    assert "no MUSDB tracks found" in err
    assert read_jsonl(workspace.events_manifest("musdb_hq")) == []


def test_missing_root_is_a_usage_error(workspace: Workspace, tmp_path: Path, capsys) -> None:
    assert _run(workspace, tmp_path / "absent") == 2
    assert "MUSDB root folder not found" in capsys.readouterr().err


def test_pseudo_labels_replace_derived_events(workspace: Workspace, corpus: tuple[Path, dict], capsys) -> None:
    root, _ = corpus
    track = root / "test" / "Al James - Schoolboy Facination"
    (track / "drums.pseudo.tsv").write_text(
        "# time\tlabel\tvelocity\n0.5\tkick\t100\n0.75\tSD\n1.0\tcrash\t90\n1.25\tbanjo\n1.5\tkick\t300\n",
        encoding="utf-8",
    )
    assert _run(workspace, root) == 1
    err = capsys.readouterr().err
    assert "drums.pseudo.tsv:5: label 'banjo' is not a taxonomy class id or alias" in err
    assert "drums.pseudo.tsv:6: velocity '300'" in err
    events = [
        e
        for e in read_jsonl(workspace.events_manifest("musdb_hq"))
        if e["session_id"] == "Al James - Schoolboy Facination"
    ]
    assert [(e["onset_s"], e["label"], e["velocity"]) for e in events] == [
        (0.5, "kick", 100),
        (0.75, "snare", None),
        (1.0, "crash", 90),
    ]
    assert {e["label_source"] for e in events} == {"pseudo"}
    crash = events[2]
    assert crash["labels"] == ["crash", "crash"] and crash["variant"] == "crash"


def test_overlap_list_printed_from_a_cambridge_inventory(
    workspace: Workspace, corpus: tuple[Path, dict], capsys
) -> None:
    root, truth = corpus
    cambridge = workspace.root / "data" / "manifests" / "cambridge_sessions.jsonl"
    cambridge.parent.mkdir(parents=True, exist_ok=True)
    cambridge.write_text("".join(f'{{"session_id": "{sid}"}}\n' for sid in truth["cambridge_sessions"]))
    assert _run(workspace, root, "--cambridge-sessions", str(cambridge)) == 0
    out = capsys.readouterr().out
    assert "overlap\tcambridge\tAl James - Schoolboy Facination\tAlJames_SchoolboyFascination_Full" in out
    assert "overlap\tcambridge\tAtlantis Bound - It Was My Fault For Waiting" in out



def test_an_empty_overlap_list_says_so(workspace: Workspace, corpus: tuple[Path, dict], capsys) -> None:
    root, _ = corpus
    cambridge = workspace.root / "data" / "manifests" / "cambridge_sessions.jsonl"
    cambridge.parent.mkdir(parents=True, exist_ok=True)
    cambridge.write_text('{"session_id": "NotInMusdb_Session"}\n')
    assert _run(workspace, root, "--cambridge-sessions", str(cambridge)) == 0
    assert "overlap: none" in capsys.readouterr().out.splitlines()

def test_python_module_entry_point_help() -> None:
    done = subprocess.run([sys.executable, "-m", "ingest.musdb", "--help"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m ingest.musdb ") and "--sessions" in done.stdout
    assert "Dataset card" in done.stdout


def test_fixture_is_stereo_44k(tmp_path: Path) -> None:
    info = make_musdb_corpus(tmp_path / "m", seed=1, seconds=1.0)
    stem = Path(info["root"]) / "train" / "Actions - One Minute Smile" / "drums.wav"
    data, sr = sf.read(stem)
    assert sr == synth.SAMPLE_RATE and data.shape[1] == 2


def test_a_stem_it_may_not_read_is_unreadable_not_an_internal_error(
    workspace: Workspace, corpus: tuple[Path, dict], capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = corpus
    blocked = sorted(root.rglob("mixture.wav"))[0]
    real_is_file = Path.is_file

    def is_file(path: Path) -> bool:  # what a folder without the execute bit does to a stat as non-root
        if path == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    code = _run(workspace, root)
    err = capsys.readouterr().err
    assert code == 1, err
    assert "internal error" not in err
    assert f"{blocked.name}: cannot read: Permission denied" in err
    sessions = read_jsonl(workspace.root / "data" / "manifests" / "musdb_hq_sessions.jsonl")
    statuses = {f["path"]: f["status"] for row in sessions for f in row["files"]}
    assert "unreadable" in statuses.values()

"""The demo corpus is real audio and MIDI in the datasets' layouts, identical for one seed; the
demo walk-through runs end to end."""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import pytest
import soundfile as sf

from drumgate.commands.demo import MARKER, UNFINISHED, Stage, generate_corpus, prepare_workspace, run_stage
from drumgate.errors import EXIT_INTERRUPTED, DrumgateError


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_corpus_is_identical_for_a_seed_and_differs_across_seeds(tmp_path: Path) -> None:
    generate_corpus(tmp_path / "a", seed=3)
    generate_corpus(tmp_path / "b", seed=3)
    generate_corpus(tmp_path / "c", seed=4)
    first = _tree_digest(tmp_path / "a")
    assert first == _tree_digest(tmp_path / "b")
    assert first != _tree_digest(tmp_path / "c")


def test_corpus_opens_with_soundfile_and_mido_in_the_real_layouts(tmp_path: Path) -> None:
    roots = generate_corpus(tmp_path, seed=7)
    raw = tmp_path / "data" / "raw"
    wavs = sorted(raw.rglob("*.wav"))
    midis = sorted(raw.rglob("*.midi"))
    assert wavs and midis
    for path in wavs:
        signal, rate = sf.read(str(path))
        assert rate > 0 and len(signal) > 0, path
    for path in midis:
        midi = mido.MidiFile(str(path))
        notes = [m for m in midi if m.type == "note_on" and m.velocity > 0]
        assert notes and all(m.channel == 9 for m in notes), path
        assert any(m.type == "control_change" and m.control == 4 for m in midi), path
    with (roots["egmd"] / "e-gmd-v1.0.0.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == [
        "drummer", "session", "id", "style", "bpm", "beat_type", "time_signature", "duration", "split",
        "midi_filename", "audio_filename", "kit_name",
    ]
    cambridge = sorted(p.name for p in roots["cambridge (primary tier)"].rglob("*") if p.suffix in {".wav", ".zip"})
    assert any(name.endswith("_Full.zip") for name in cambridge)
    assert any(name[:2].isdigit() and name[2] == "_" for name in cambridge)
    assert sorted(roots["cambridge (external tier)"].iterdir())
    for track in (roots["musdb_hq"] / "train").iterdir():
        assert sorted(p.name for p in track.iterdir()) == [
            "bass.wav", "drums.wav", "mixture.wav", "other.wav", "vocals.wav",
        ]
        assert sf.info(str(track / "drums.wav")).channels == 2


def test_demo_walkthrough_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "drumgate.cli", "demo", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert "-> blocked" in done.stdout
    assert "edited by hand: it differs from what its command wrote" in done.stdout
    assert "tier_offline" in done.stdout
    assert (out / "pr-report" / "comment.md").read_text().startswith("<!-- drumgate:health-delta -->")
    log = subprocess.run(["git", "log", "--format=%s"], cwd=out, capture_output=True, text=True, check=True)
    assert log.stdout.splitlines() == ["Add a MUSDB track; Cambridge external drive offline", "Ingest the demo corpus"]
    assert subprocess.run(["git", "status", "--porcelain"], cwd=out, capture_output=True, text=True,
                          check=True).stdout == ""
    _an_earlier_demo_is_replaced_only_while_it_holds_nothing_else(out, tmp_path)


def _an_earlier_demo_is_replaced_only_while_it_holds_nothing_else(out: Path, tmp_path: Path) -> None:
    """Running the demo again into its folder replaced it whole: a commit or a file made there since was
    lost without a word. Only the demo's own commits and files are replaced now (or anything, with
    --force); an interrupted demo's uncommitted outputs are its own."""
    def git(folder: Path, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout

    committed = tmp_path / "committed"
    shutil.copytree(out, committed, symlinks=True)
    (committed / "NOTES.md").write_text("my notes\n")
    git(committed, "add", "NOTES.md")
    git(committed, "-c", "user.name=Ann", "-c", "user.email=ann@example.invalid", "commit", "-q", "--no-verify",
        "-m", "my work")
    amended = tmp_path / "amended"  # an amended commit keeps the demo's author, not its committer
    shutil.copytree(out, amended, symlinks=True)
    (amended / "NOTES.md").write_text("mine\n")
    git(amended, "add", "NOTES.md")
    git(amended, "-c", "user.name=Ann", "-c", "user.email=ann@example.invalid", "commit", "-q", "--no-verify",
        "--amend", "--no-edit")
    with pytest.raises(DrumgateError, match="commits made after the demo"):
        prepare_workspace(amended, force=False)
    untracked = tmp_path / "untracked"
    shutil.copytree(out, untracked, symlinks=True)
    (untracked / "MORE.md").write_text("more\n")
    for folder, said in ((committed, "with commits made after the demo ('my work' among them)"),
                         (untracked, "with 1 changed or new files not committed (MORE.md among them)")):
        with pytest.raises(DrumgateError) as refused:
            prepare_workspace(folder, force=False)
        assert said in refused.value.message and "not replaced" in refused.value.message
        assert refused.value.hint == f"fix: drumgate demo --out {folder}-2, or add --force to replace it"
    assert (committed / "NOTES.md").is_file() and "my work" in git(committed, "log", "--format=%s")
    assert (untracked / "MORE.md").is_file()

    interrupted = tmp_path / "interrupted"
    shutil.copytree(out, interrupted, symlinks=True)
    (interrupted / "reports" / "half-written.json").write_text("{}")
    (interrupted / UNFINISHED).write_text("")
    prepare_workspace(interrupted, force=False)
    assert not (interrupted / "reports").exists() and (interrupted / MARKER).is_file(), "replaced, started over"
    prepare_workspace(committed, force=True)
    assert not (committed / "NOTES.md").exists(), "--force replaces it"


def test_a_ctrl_c_during_a_stage_stops_the_demo_as_interrupted_not_as_a_bug() -> None:
    with pytest.raises(DrumgateError) as stopped:
        run_stage(lambda argv: EXIT_INTERRUPTED, Stage("ingest", ("ingest", "egmd")))
    assert stopped.value.exit_code == EXIT_INTERRUPTED == 130
    assert stopped.value.message == "demo stopped during: drumgate ingest egmd"

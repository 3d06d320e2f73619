"""`drumgate ingest <ds> --root DIR` then a commit: every fix printed on the way names that folder.

A new user's data repository (`drumgate init`, real git, the real pre-commit hooks) ingests MDB Drums
from a folder of its own while the configured root `data/raw/mdb_drums` is empty. `checksums
generate` hashed the empty configured root and exited 0 with `0 entries`, the hook's fix was that
same command, and only an undocumented environment variable got the commit through.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.data_repo_support import drumgate, git, status, user_env
from tests.mdb_fixtures import make_mdb_tree

HINT = re.compile(r"\((?:fix|run): ([^()]*)\)")


def _repo(tmp_path: Path, hooks: bool = True) -> tuple[Path, Path]:
    """An MDB Drums tree outside the repository (a space in its name), and the repository."""
    tree = make_mdb_tree(tmp_path / "MDB Drums copy").root
    repo = tmp_path / "drum-data"
    repo.mkdir()
    assert git(repo, "init", "-q", "-b", "main").returncode == 0
    made = drumgate(repo, "init", "--datasets", "egmd,mdb_drums", *([] if hooks else ["--no-hooks"]))
    assert made.returncode == 0, made.stderr
    assert (repo / "data" / "raw" / "mdb_drums").is_dir()  # the configured root: there, and empty
    return tree, repo


def _commands(output: str) -> list[str]:
    """The commands the printed `(fix: ...)` and `(run: ..., then git add -A)` hints name, in order."""
    found: dict[str, None] = {}
    for hint in HINT.findall(output):
        for part in hint.split(", then "):
            if part.startswith(("drumgate ", "git ")):
                found.setdefault(part, None)
    return list(found)


@pytest.mark.slow
def test_an_ingest_with_root_commits_by_following_the_printed_fixes(tmp_path: Path) -> None:
    tree, repo = _repo(tmp_path)
    ingest = drumgate(repo, "ingest", "mdb_drums", "--root", str(tree), "--date", "2026-03-01")
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    generate = f"drumgate checksums generate mdb_drums --root {shlex.quote(str(tree))}"
    ran: list[str] = []
    for _ in range(4):
        assert git(repo, "add", "-A").returncode == 0
        commit = git(repo, "commit", "-q", "-m", "MDB Drums from a folder of its own")
        if commit.returncode == 0:
            break
        output = commit.stdout + commit.stderr
        commands = _commands(output)
        assert commands, output
        for command in commands:
            # a checksums fix after an `ingest --root` names that root, never the empty configured one
            assert not command.startswith("drumgate checksums generate") or command.startswith(generate), output
            done = subprocess.run(command, shell=True, cwd=repo, env=user_env(), capture_output=True, text=True,
                                  check=False)
            assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
            ran.append(command)
    else:
        pytest.fail(f"still refused after running {ran}")
    assert generate in ran, ran
    lock = json.loads((repo / "data" / "locks" / "mdb_drums.lock.json").read_text(encoding="utf-8"))
    recorded = lock["artifacts"]["data/archives/checksums/mdb_drums.sha256"]["command"]
    assert shlex.split(recorded) == ["drumgate", "checksums", "generate", "mdb_drums", "--root", str(tree)]
    again = drumgate(repo, "repro")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"$ {generate} --update" in again.stdout
    assert status(repo) == "", status(repo)


@pytest.mark.slow
def test_repro_after_an_ingest_with_root_hashes_that_root_and_the_commit_passes(tmp_path: Path) -> None:
    """The documented way: ingest, repro, commit; repro's checksums step takes the ingest's root."""
    tree, repo = _repo(tmp_path)
    assert drumgate(repo, "ingest", "mdb_drums", "--root", str(tree), "--date", "2026-03-01").returncode == 0
    done = drumgate(repo, "repro")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "9 entries (9 added" in done.stdout
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "MDB Drums")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    again = drumgate(repo, "repro")
    assert again.returncode == 0 and status(repo) == "", again.stderr[-2000:] + status(repo)


def test_a_root_with_no_files_is_refused_with_the_root_the_ingest_read(tmp_path: Path) -> None:
    tree, repo = _repo(tmp_path, hooks=False)
    assert drumgate(repo, "ingest", "mdb_drums", "--root", str(tree), "--date", "2026-03-01").returncode == 0
    manifest = repo / "data" / "archives" / "checksums" / "mdb_drums.sha256"
    fix = f"drumgate checksums generate mdb_drums --root {shlex.quote(str(tree))}"
    empty = drumgate(repo, "checksums", "generate", "mdb_drums")
    assert empty.returncode == 2 and not manifest.exists()
    assert empty.stderr.strip() == (
        "data/raw/mdb_drums: holds no files, while data/provenance/mdb_drums_provenance.jsonl lists 6 files"
        f" on tier primary (fix: {fix})")
    (repo / "data" / "raw" / "mdb_drums").rmdir()  # an unmounted configured root: no entries to keep either
    offline = drumgate(repo, "checksums", "generate", "mdb_drums")
    assert offline.returncode == 2 and not manifest.exists()
    assert offline.stderr.strip() == empty.stderr.strip().replace("holds no files", "not found")
    done = subprocess.run(fix, shell=True, cwd=repo, env=user_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "9 entries (9 added" in done.stdout, done.stderr
    committed = manifest.read_bytes()
    (repo / "data" / "raw" / "mdb_drums").mkdir()
    dropped = drumgate(repo, "checksums", "generate", "mdb_drums", "--update")  # would drop all 9 digests
    assert dropped.returncode == 2 and manifest.read_bytes() == committed
    assert dropped.stderr.strip().endswith(
        f"lists 9 files on tier primary (fix: {fix} --update)"), dropped.stderr
    verify = drumgate(repo, "checksums", "verify", "mdb_drums")
    assert verify.returncode == 2 and verify.stderr.strip().endswith(
        f"(fix: drumgate checksums verify mdb_drums --root {shlex.quote(str(tree))})"), verify.stderr
    assert drumgate(repo, "checksums", "verify", "mdb_drums", "--root", str(tree)).returncode == 0
    typo = drumgate(repo, "checksums", "generate", "mdb_drums", "--root", str(tree) + "x")
    assert typo.returncode == 2 and typo.stderr.strip() == f"{tree}x: root not found (fix: {fix})"


def _ingested_at_the_configured_root(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(corpus, repository, configured root): the corpus copied to the configured root and ingested there."""
    tree, repo = _repo(tmp_path, hooks=False)
    raw = repo / "data" / "raw" / "mdb_drums"
    raw.rmdir()
    shutil.copytree(tree, raw)
    assert drumgate(repo, "ingest", "mdb_drums", "--date", "2026-03-01").returncode == 0
    return tree, repo, raw


def test_a_configured_root_emptied_after_its_ingest_names_the_root_option_and_its_variable(tmp_path: Path) -> None:
    tree, repo, raw = _ingested_at_the_configured_root(tmp_path)
    shutil.rmtree(raw)
    raw.mkdir()
    empty = drumgate(repo, "checksums", "generate", "mdb_drums")
    assert empty.returncode == 2
    assert empty.stderr.strip().endswith(
        "(fix: drumgate checksums generate mdb_drums --root DIR, with DIR the folder that holds the files,"
        " or set DRUMGATE_MDB_DRUMS_ROOT=DIR)"), empty.stderr
    moved = drumgate(repo, "checksums", "generate", "mdb_drums", DRUMGATE_MDB_DRUMS_ROOT=str(tree))
    assert moved.returncode == 0 and "9 entries" in moved.stdout, moved.stderr


def test_a_recorded_root_moved_away_is_verified_at_the_configured_root(tmp_path: Path) -> None:
    """The lock's `checksums generate --root` names a folder not on this machine (the files moved to
    the configured root): the hook verifies the configured root, not an offline tier."""
    tree, repo = _repo(tmp_path, hooks=False)
    assert drumgate(repo, "ingest", "mdb_drums", "--root", str(tree), "--date", "2026-03-01").returncode == 0
    assert drumgate(repo, "checksums", "generate", "mdb_drums", "--root", str(tree)).returncode == 0
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "commit", "-q", "-m", "MDB Drums").returncode == 0
    raw = repo / "data" / "raw" / "mdb_drums"
    raw.rmdir()
    shutil.move(str(tree), raw)
    manifest = repo / "data" / "archives" / "checksums" / "mdb_drums.sha256"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    lines[0] = "0" * 64 + lines[0][64:]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert git(repo, "add", "-A").returncode == 0
    hook = drumgate(repo, "hook", "checksums", "data/archives/checksums/mdb_drums.sha256")
    assert hook.returncode == 1 and "offline" not in hook.stderr, hook.stderr
    assert f"mdb_drums.sha256:1: {lines[0][66:]}: file on disk has sha256" in hook.stderr, hook.stderr
    fix = "drumgate checksums generate mdb_drums --update"
    assert hook.stderr.strip().endswith(f"(fix: restore the file, or accept it with {fix})"), hook.stderr
    done = subprocess.run(fix, shell=True, cwd=repo, env=user_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert git(repo, "add", "-A").returncode == 0
    again = drumgate(repo, "hook", "checksums", "data/archives/checksums/mdb_drums.sha256")
    assert again.returncode == 0, again.stderr


def test_a_root_holding_other_files_is_refused_as_the_wrong_folder(tmp_path: Path) -> None:
    tree, repo = _repo(tmp_path, hooks=False)
    assert drumgate(repo, "ingest", "mdb_drums", "--root", str(tree), "--date", "2026-03-01").returncode == 0
    manifest = repo / "data" / "archives" / "checksums" / "mdb_drums.sha256"
    other = tmp_path / "holiday photos"
    other.mkdir()
    (other / "beach.jpg").write_bytes(b"not a drum")
    fix = f"drumgate checksums generate mdb_drums --root {shlex.quote(str(tree))}"
    first = drumgate(repo, "checksums", "generate", "mdb_drums", "--root", str(other))
    assert first.returncode == 2 and not manifest.exists()
    assert first.stderr.strip() == (
        f"{other}: holds 1 file, none of them among the 6 that data/provenance/mdb_drums_provenance.jsonl lists"
        f" on tier primary: not the folder they came from (fix: {fix}; if they were renamed or repackaged there:"
        " drumgate repro mdb_drums, then git add -A)"), first.stderr
    assert subprocess.run(fix, shell=True, cwd=repo, env=user_env(), capture_output=True, check=False).returncode == 0
    committed = manifest.read_bytes()
    again = drumgate(repo, "checksums", "generate", "mdb_drums", "--root", str(other), "--update")
    assert again.returncode == 2 and manifest.read_bytes() == committed  # no digest dropped
    assert "none of them among the 9 that data/archives/checksums/mdb_drums.sha256 lists or the 6" in again.stderr
    verify = drumgate(repo, "checksums", "verify", "mdb_drums", "--root", str(other))
    assert verify.returncode == 2 and verify.stderr.strip().endswith(
        f"(fix: drumgate checksums verify mdb_drums --root {shlex.quote(str(tree))}; if they were renamed or"
        " repackaged there: drumgate repro mdb_drums, then git add -A)"), verify.stderr
    assert "Traceback" not in first.stderr + again.stderr + verify.stderr
    (tree / "extra.txt").write_text("a new file beside the corpus")  # one unknown file among known ones is fine
    beside = drumgate(repo, "checksums", "generate", "mdb_drums", "--root", str(tree), "--update")
    assert beside.returncode == 0 and "10 entries (1 added" in beside.stdout, beside.stdout + beside.stderr


def test_provenance_files_counts_each_file_once_and_names_the_provenance_as_found(tmp_path: Path) -> None:
    """Cambridge rows name their tier and carry it in the path too; E-GMD rows carry it in `tier` only."""
    import gzip

    from drumgate.checksums.roots import provenance_files
    from tests.hooks_support import make_workspace

    ws = make_workspace(tmp_path)
    rows = [
        {"tier": "primary",
         "source_files": [{"path": "primary/Song/01_Kick.wav"}, {"path": "primary/Song/02_Snare.wav"}]},
        {"tier": "primary", "source_files": [{"path": "primary/Song/01_Kick.wav"}]},  # a file two rows share
        {"tier": "external", "source_files": [{"path": "Other/01_Kick.wav"}]},
        {"source_files": [{"path": "primary/Loose/take.wav"}, {"path": "external/x.wav"}]},  # no tier field
    ]
    target = ws.provenance("cambridge")
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target.with_name(target.name + ".gz"), "wt") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    primary = provenance_files(ws, "cambridge", "primary")
    assert primary.count == 3 and primary.shown == "data/provenance/cambridge_provenance.jsonl.gz"
    assert {"primary/Song/01_Kick.wav", "primary/Song/02_Snare.wav", "primary/Loose/take.wav"} <= primary.keys
    external = provenance_files(ws, "cambridge", "external")
    assert external.count == 2 and {"external/Other/01_Kick.wav", "external/x.wav"} <= external.keys
    assert provenance_files(ws, "egmd", "primary").count == 0  # no provenance: nothing listed


def test_a_typed_root_that_is_empty_is_sent_back_to_the_configured_root(tmp_path: Path) -> None:
    _, repo, _ = _ingested_at_the_configured_root(tmp_path)
    assert drumgate(repo, "checksums", "generate", "mdb_drums").returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    wrong = drumgate(repo, "checksums", "verify", "mdb_drums", "--root", str(empty))
    assert wrong.returncode == 2
    assert wrong.stderr.strip().endswith(
        "(fix: drumgate checksums verify mdb_drums, which reads the configured data/raw/mdb_drums)"), wrong.stderr
    assert drumgate(repo, "checksums", "verify", "mdb_drums").returncode == 0


def test_generate_with_no_tier_there_and_nothing_kept_writes_nothing(tmp_path: Path) -> None:
    """The fix `verify` prints for a missing manifest wrote an empty one while the data was not there,
    and that empty manifest then verified "0/0, 0 findings"."""
    raw, repo = _repo(tmp_path, hooks=False)
    shutil.rmtree(repo / "data" / "raw" / "mdb_drums", ignore_errors=True)
    done = drumgate(repo, "checksums", "generate", "mdb_drums")
    assert done.returncode == 2, done.stderr
    assert "no storage tier of mdb_drums is there and the manifest keeps no entries" in done.stderr
    assert done.stderr.strip().endswith(
        "(fix: put the raw files under data/raw/mdb_drums or set DRUMGATE_MDB_DRUMS_ROOT to where the drive is "
        "mounted, then drumgate checksums generate mdb_drums)")
    assert not (repo / "data" / "archives" / "checksums" / "mdb_drums.sha256").exists()
    shutil.copytree(raw, repo / "data" / "raw" / "mdb_drums")  # the fix: the files where the config says
    again = drumgate(repo, "checksums", "generate", "mdb_drums")
    assert again.returncode == 0, again.stderr
    assert drumgate(repo, "checksums", "verify", "mdb_drums").returncode == 0

"""drumgate.git, the one git runner: output decoded safely, failures worded as DrumgateError."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from drumgate.errors import DrumgateError
from drumgate.git import git_blob, git_output, git_stream, git_text, run_git

IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    run_git(["init", "-q", "-b", "main"], root, check=True)
    (root / "a.txt").write_bytes(b"caf\xe9\n")  # not UTF-8
    run_git(["add", "a.txt"], root, check=True)
    run_git(["commit", "-q", "-m", "one"], root, check=True, env=IDENTITY)
    return root


def test_output_is_text_and_a_blob_is_bytes(repo: Path) -> None:
    assert git_output(["log", "--format=%s"], repo) == "one\n"
    assert git_text(["rev-parse", "--abbrev-ref", "HEAD"], repo) == "main"
    assert git_blob(["show", "HEAD:a.txt"], repo) == b"caf\xe9\n"
    assert git_output(["show", "HEAD:a.txt"], repo) == "caf\ufffd\n"  # never a UnicodeDecodeError
    with git_stream(["cat-file", "blob", "HEAD:a.txt"], repo) as handle:
        assert handle.read() == b"caf\xe9\n"


def test_a_failure_is_none_or_a_one_line_error(repo: Path) -> None:
    assert git_text(["show", "HEAD:missing.txt"], repo) is None
    assert git_blob(["show", "HEAD:missing.txt"], repo) is None
    assert run_git(["show", "HEAD:missing.txt"], repo).returncode != 0
    with pytest.raises(DrumgateError) as caught:
        git_output(["show", "HEAD:missing.txt"], repo)
    assert caught.value.message.startswith("git show HEAD:missing.txt failed: ")
    assert "\n" not in caught.value.message


def test_input_reaches_git(repo: Path) -> None:
    done = run_git(["cat-file", "--batch-check=%(objecttype)"], repo, input="HEAD:a.txt\nHEAD:nope\n")
    assert done.stdout.splitlines() == ["blob", "HEAD:nope missing"]


def test_without_git_on_path_the_error_names_the_fix(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-folder"))
    assert git_text(["status"], repo) is None
    with pytest.raises(DrumgateError) as caught:
        run_git(["status"], repo)
    assert caught.value.message.startswith("cannot run git") and caught.value.hint == "install git"


def test_env_adds_to_the_inherited_environment(repo: Path) -> None:
    author = run_git(["var", "GIT_AUTHOR_IDENT"], repo, check=True, env={**IDENTITY, "GIT_AUTHOR_NAME": "someone"})
    assert author.stdout.startswith("someone <t@example.invalid>")


def test_a_stream_of_a_missing_blob_is_an_error_not_an_empty_stream(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    missing = ["cat-file", "blob", "HEAD:nothing"]
    with pytest.raises(DrumgateError, match="failed"), git_stream(missing, tmp_path) as raw:
        assert raw.read() == b""


def test_a_reader_that_stops_early_ends_git_quietly(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (1 << 22))  # larger than a pipe's buffer: git is still writing when the reader stops
    sha = subprocess.run(["git", "hash-object", "-w", "big.bin"], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.strip()
    with git_stream(["cat-file", "blob", sha], tmp_path) as raw:
        assert raw.read(10) == b"x" * 10

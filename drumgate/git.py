"""The one way drumgate runs git: every command, hook and report goes through `run_git`.

Output is captured and decoded as UTF-8 with U+FFFD for bytes that are not (a path git prints
must not crash a hook); a missing git binary is a DrumgateError naming the fix, never a traceback.
`env` adds variables to the inherited environment, so pre-commit's GIT_INDEX_FILE and the
caller's PATH keep working.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from drumgate.errors import DrumgateError


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    check: bool = False,
    env: Mapping[str, str] | None = None,
    text: bool = True,
    input: str | bytes | None = None,
) -> subprocess.CompletedProcess[Any]:
    """`git *args` in `cwd`, output captured; with `check`, a non-zero exit is a DrumgateError."""
    decoding: dict[str, str] = {"encoding": "utf-8", "errors": "replace"} if text else {}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_environment(env),
            input=input,
            capture_output=True,
            check=False,
            **decoding,  # type: ignore[call-overload]
        )
    except OSError as exc:
        raise _missing_git(exc) from exc
    if check and done.returncode != 0:
        raise DrumgateError(f"git {' '.join(args)} failed: {failure_detail(done)}", path=cwd)
    return done


def git_output(args: Sequence[str], cwd: Path, *, env: Mapping[str, str] | None = None) -> str:
    """The command's stdout; a failure is a DrumgateError with git's last error line."""
    return str(run_git(args, cwd, check=True, env=env).stdout)


def git_text(args: Sequence[str], cwd: Path) -> str | None:
    """The command's stdout stripped, or None when git is missing or the command fails."""
    try:
        done = run_git(args, cwd)
    except DrumgateError:
        return None
    return str(done.stdout).strip() if done.returncode == 0 else None


def git_blob(args: Sequence[str], cwd: Path) -> bytes | None:
    """The command's raw stdout (a blob), or None when git is missing or the command fails."""
    try:
        done = run_git(args, cwd, text=False)
    except DrumgateError:
        return None
    return bytes(done.stdout) if done.returncode == 0 else None


@contextlib.contextmanager
def git_stream(args: Sequence[str], cwd: Path) -> Iterator[IO[bytes]]:
    """The command's stdout as a byte stream, for blobs too big to hold in memory.

    A git failure (a missing object, a folder where a blob was asked for) is a DrumgateError once the
    reader has read to the end, never an empty stream; a reader that stops early ends git quietly."""
    try:
        proc = subprocess.Popen(["git", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise _missing_git(exc) from exc
    assert proc.stdout is not None and proc.stderr is not None
    read_to_end = False
    try:
        yield proc.stdout
        read_to_end = proc.stdout.read(1) == b""
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read()  # git's error is a line or two: the pipe never fills first
        proc.stderr.close()
        proc.wait()
    if read_to_end and proc.returncode != 0:
        detail = failure_detail(subprocess.CompletedProcess(proc.args, proc.returncode, b"", stderr))
        raise DrumgateError(f"git {' '.join(args)} failed: {detail}", path=cwd)


def failure_detail(done: subprocess.CompletedProcess[Any]) -> str:
    """git's last error line (or the exit code when it printed none)."""
    stderr = done.stderr if isinstance(done.stderr, str) else (done.stderr or b"").decode("utf-8", "replace")
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


def _missing_git(exc: OSError) -> DrumgateError:
    return DrumgateError(f"cannot run git: {exc.strerror}", hint="install git")


def _environment(extra: Mapping[str, str] | None) -> dict[str, str] | None:
    return {**os.environ, **extra} if extra else None


def user_folder() -> Path:
    """The folder the user typed the command in: the current one, or for a git hook (which git runs
    at the repository's root) the folder `git commit` was run in, which git names in GIT_PREFIX."""
    return Path.cwd() / os.environ.get("GIT_PREFIX", "")


def user_is_at(root: Path) -> bool:
    """Whether the user's folder (`user_folder`) is `root`: a printed command with paths relative to
    `root` works as printed only there."""
    try:
        return user_folder().resolve() == Path(root).resolve()
    except OSError:  # the current folder is gone
        return False


def git_at(root: Path | None) -> str:
    """`git ` to run where the user is, `git -C ROOT ` when that is not `root` (a subfolder of the
    workspace): a printed git command with root-relative paths works as printed there too."""
    return "git " if root is None or user_is_at(root) else f"git -C {shlex.quote(str(root))} "


def restore_command(*relative: str, root: Path | None = None) -> str:
    """`git checkout HEAD -- PATH...`, each path quoted for the shell: the committed version back. With
    the `root` the paths are relative to, run from another folder (a subfolder of the workspace), it is
    `git -C ROOT checkout ...`, which works as printed there too."""
    return f"{git_at(root)}checkout HEAD -- " + " ".join(shlex.quote(path) for path in relative)


def in_head(root: Path, relative: str) -> bool:
    """True when HEAD holds the file, so `restore_command` brings it back."""
    return git_text(["cat-file", "-e", f"HEAD:./{relative}"], root) is not None


def differs_from_head(root: Path, relative: str) -> bool:
    """True unless the file on disk is HEAD's (restoring an unchanged file changes nothing); true when
    git cannot tell."""
    try:
        return run_git(["diff", "--quiet", "HEAD", "--", f"./{relative}"], root).returncode != 0
    except DrumgateError:
        return True


def restorable(root: Path, relative: str) -> bool:
    """True when HEAD holds the file and the one on disk differs from it: only then does `restore_command`
    change anything (a file committed damaged is not restored by checking it out). The one rule for
    every fix that offers the checkout."""
    return in_head(root, relative) and differs_from_head(root, relative)

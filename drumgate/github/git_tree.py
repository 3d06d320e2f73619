"""Reading a revision of the repository that holds the workspace, straight from git objects.

`pr-report` never checks a revision out: it asks git which paths changed, which files exist at a
revision, streams blobs as stored and extracts `configs/` as a revision has it.
Every git call goes through `drumgate.git`.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from drumgate.errors import DrumgateError
from drumgate.git import failure_detail, git_stream, run_git
from drumgate.workspace import Workspace

BATCH_BYTES = 64 << 20  # stored bytes per `git cat-file --batch` call (a part is at most 25 MiB)


def short_sha(sha: str) -> str:
    return sha[:7]


class GitTree:
    """Read-only access to the revisions of the repository holding the workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        top = self.git("rev-parse", "--show-toplevel").strip()
        if not top:
            raise DrumgateError("the workspace is not inside a git repository", path=ws.root)
        self.prefix = self.git("rev-parse", "--show-prefix").strip()
        # what drumgate.github.pr_parts already read: folders by (revision, path), a part's rows or
        # counts by blob id (base and head share most parts)
        self.memo: dict[tuple[str, ...], Any] = {}

    def git(self, *args: str) -> str:
        # a file name that is not UTF-8 cannot name an artifact: shown with U+FFFD, it matches none
        done = run_git(args, self.ws.root)
        if done.returncode != 0:
            raise DrumgateError(f"git {args[0]}: {failure_detail(done)}", path=self.ws.root)
        return str(done.stdout)

    def resolve(self, rev: str) -> str:
        if rev.startswith("-"):
            raise DrumgateError(f"revision {rev!r} may not start with '-'")
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
        except DrumgateError:
            shallow = self.git("rev-parse", "--is-shallow-repository").strip() == "true"
            branches = self.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split()
            known = f"a branch this repository has ({', '.join(branches[:8])}), a tag or a commit"
            hint = ("fix: git fetch --unshallow (a shallow clone lacks it; in CI: actions/checkout fetch-depth: 0)"
                    if shallow else f"fix: pass {known}; git log --oneline -10 lists commits" if branches else
                    "fix: git log --oneline -10 lists the revisions you can pass")
            raise DrumgateError(f"unknown revision {rev!r}", hint=hint) from None

    def merge_base(self, base: str, head: str) -> str:
        try:
            return self.git("merge-base", base, head).strip()
        except DrumgateError:
            return base

    def changed_paths(self, base: str, head: str) -> list[str]:
        """Workspace-relative paths changed between the two commits."""
        out = self.git("diff", "--name-only", "--no-renames", "-z", base, head, "--", ".")
        names = [name for name in out.split("\0") if name]
        return sorted(name[len(self.prefix) :] for name in names if name.startswith(self.prefix))

    def spec(self, rev: str, rel: str) -> str:
        return f"{rev}:{self.prefix}{rel}"

    def existing(self, rev: str, rels: Sequence[str]) -> set[str]:
        """Which of `rels` exist as files at `rev` (one `git cat-file --batch-check`)."""
        query = "".join(f"{self.spec(rev, rel)}\n" for rel in rels)
        done = run_git(["cat-file", "--batch-check=%(objecttype)"], self.ws.root, input=query)
        answers = str(done.stdout).splitlines()
        return {rel for rel, answer in zip(rels, answers, strict=False) if answer.strip() == "blob"}

    def listing(self, rev: str, folder: str) -> dict[str, tuple[str, int]]:
        """Every file under `folder` at `rev` (paths relative to it) -> (blob id, size); one `git ls-tree`."""
        out = self.git("ls-tree", "-r", "-l", "-z", self.spec(rev, folder))
        found: dict[str, tuple[str, int]] = {}
        for record in out.split("\0"):
            meta, _, name = record.partition("\t")
            fields = meta.split()
            if len(fields) == 4 and fields[1] == "blob":
                found[name] = (fields[2], int(fields[3]))
        return found

    def blobs(self, blobs: Sequence[tuple[str, int]]) -> Iterator[tuple[str, bytes]]:
        """(id, bytes as stored) of each (blob id, size), through as few `git cat-file --batch` calls
        as keep a call's output under `BATCH_BYTES` (a set of parts is never held whole)."""
        batch: list[str] = []
        held = 0
        for blob_id, size in blobs:
            if batch and held + size > BATCH_BYTES:
                yield from self._batch(batch)
                batch, held = [], 0
            batch.append(blob_id)
            held += size
        if batch:
            yield from self._batch(batch)

    def _batch(self, ids: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        query = "".join(f"{blob_id}\n" for blob_id in ids).encode()
        done = run_git(["cat-file", "--batch"], self.ws.root, text=False, input=query)
        if done.returncode != 0:
            raise DrumgateError(f"git cat-file: {failure_detail(done)}", path=self.ws.root)
        out: bytes = done.stdout
        at = 0
        for blob_id in ids:
            header_end = out.index(b"\n", at)
            header = out[at:header_end].split()
            if len(header) != 3:
                raise DrumgateError(f"git cat-file: no blob {blob_id}", path=self.ws.root)
            size = int(header[2])
            yield blob_id, out[header_end + 1 : header_end + 1 + size]
            at = header_end + 2 + size

    def read_text(self, rev: str, rel: str) -> str:
        """A text blob; one that is not UTF-8 is a DrumgateError naming `rev:path`."""
        with self.stream(rev, rel) as handle:
            data = handle.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DrumgateError("not valid UTF-8", path=f"{short_sha(rev)}:{rel}", hint="save it as UTF-8") from exc

    @contextlib.contextmanager
    def stream(self, rev: str, rel: str) -> Iterator[IO[bytes]]:
        """The blob's bytes as stored (a `.gz` stays compressed), as a stream never held whole in memory."""
        with git_stream(["cat-file", "blob", self.spec(rev, rel)], self.ws.root) as raw:
            yield raw

    def extract_configs(self, rev: str, dest: Path) -> bool:
        """Write `configs/` as it is at `rev` under `dest`; False when that revision has none."""
        if not self.existing(rev, ["configs/datasets.toml"]):
            return False
        done = run_git(["archive", "--format=tar", rev, "--", f"{self.prefix}configs"], self.ws.root, text=False)
        if done.returncode != 0:
            return False
        try:
            with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
                _extract_data_only(archive, dest)
        except (tarfile.TarError, OSError) as exc:
            raise DrumgateError(
                f"configs/ cannot be read safely ({exc})", path=f"{short_sha(rev)}:configs",
                hint="replace links in configs/ that lead outside it with the files themselves",
            ) from exc
        if self.prefix:
            (dest / self.prefix / "configs").rename(dest / "configs")
        return True


def _extract_data_only(archive: tarfile.TarFile, dest: Path) -> None:
    """Extract with tarfile's "data" filter; Pythons before 3.11.4 lack it, so the same rules are
    checked by hand there: regular files and folders only, nothing absolute or climbing out."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, filter="data")
        return
    members = archive.getmembers()
    for member in members:
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"{member.name!r} is a link, a device or leads outside configs/")
    archive.extractall(dest, members=members)

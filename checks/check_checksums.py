"""Hook: checksum manifests are well formed and agree with staged provenance and with the files.

- every staged `data/archives/checksums/<ds>.sha256` parses (`drumgate.checksums.parse_manifest`:
  64 lowercase hex, two spaces, normalised `<tier>/<path>`, sorted, unique, no `..`); a large
  manifest's folder `<ds>/` (drumgate.checksums.parts) also agrees with its `index.sha256` (every
  part listed with its sha256, every line in its part's key), and only the staged parts' new lines
  are hashed;
- every source file a staged provenance row names is in its dataset's checksum manifest with the
  same sha256 (a provenance path is `<tier>/<path>` or root-relative under the row's `tier`); a
  checksum manifest staged with changed lines but without its provenance has the committed
  provenance checked the same way (a file accepted with `--update` but not ingested again);
- the files the staged change names (checksum lines and provenance rows not in HEAD) are hashed in full
  (no stat cache) when their tier is mounted; offline tiers and empty tier folders are skipped with a note.
  The first tier is the folder the manifest's `checksums generate --root DIR` recorded in the lock when it is
  a folder here and the tier's variable is not set (else the variable's or the configured root), and a
  missing entry's fix names the `--root` the ingest recorded.
With `--all` (the manual `drumgate-checksums-full` hook, for CI) every entry is verified; a tier that
holds none of its dataset's files is a finding, and the other datasets are still verified.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks._hookutil import (
    Reporter,
    SeenParts,
    changed_lines,
    content_digest,
    findings_about,
    generated_empty_manifest,
    restore_fix,
    workspace_relative,
)
from drumgate.artifacts import CHECKSUMS_DIR, PROVENANCE_DIR, checksum_manifest, classify, provenance_manifest
from drumgate.checksums import parts
from drumgate.checksums.agreement import reread_fix
from drumgate.checksums.manifest import generate_command, malformed_fix
from drumgate.checksums.parts import INDEX_NAME
from drumgate.errors import EXIT_FINDINGS, DrumgateError
from drumgate.workspace import Workspace

GENERATE_FIX = "fix: drumgate checksums generate {ds}"
UPDATE_FIX = "fix: restore the file, or accept it with {command}"


@dataclass
class Verification:
    """Files to hash, keyed by checksum entry path: (dataset, expected sha256, where reported)."""

    wanted: dict[tuple[str, str], tuple[str, str, int | None]] = field(default_factory=dict)

    def add(self, dataset: str, entry_path: str, sha256: str, where: str, line: int | None) -> None:
        self.wanted.setdefault((dataset, entry_path), (sha256, where, line))


class ManifestBook:
    """Parsed checksum manifests per dataset, read once."""

    def __init__(self, ws: Workspace, reporter: Reporter) -> None:
        self.ws = ws
        self.reporter = reporter
        self._entries: dict[str, dict[str, Any] | None] = {}
        self._problems: dict[str, list[DrumgateError]] = {}  # reported once, by the first staged file
        self._fixes: dict[str, str] = {}
        self._damaged: set[str] = set()

    def generate_fix(self, dataset: str) -> str:
        """`checksums generate <ds>` with the `--root` its ingest recorded (the folder its provenance
        lists); the lock is read once, when a finding needs it. A manifest with damaged lines is mended
        first (generate alone refuses it): the same fix as those lines'."""
        from drumgate.checksums.roots import manifest_root, raw_root_fix

        if dataset in self._damaged:  # with the `--root` the manifest was made from, as the lines' own fix
            manifest = self.ws.rel(self.ws.checksums(dataset))
            return malformed_fix(dataset, manifest, manifest_root(self.ws, dataset), workspace=self.ws.root)
        if dataset not in self._fixes:
            self._fixes[dataset] = raw_root_fix(self.ws, dataset)
        return self._fixes[dataset]

    def entries(self, dataset: str, report_errors: bool = False) -> dict[str, Any] | None:
        if dataset not in self._entries:
            from drumgate.checksums import parts

            path = self.ws.checksums(dataset)
            if not parts.exists(path):
                self._entries[dataset] = None
                return None
            found = parts.read(path, dataset)
            self._entries[dataset] = {entry.path: entry for entry in found.entries}
            self._problems[dataset] = found.problems
            self._damaged.update([dataset] if found.problems else [])
        if report_errors:
            for err in self._problems.pop(dataset, []):
                err.path = self.ws.rel(err.path or self.ws.checksums(dataset))
                self.reporter.add(err, err.hint or malformed_fix(dataset, str(err.path), workspace=self.ws.root))
        return self._entries[dataset]


def check_manifest_file(
    ws: Workspace, relative: str, dataset: str, book: ManifestBook, verification: Verification
) -> None:
    entries = book.entries(dataset, report_errors=True)
    if entries is None:
        book.reporter.finding(relative, "file not found")
        return
    if relative.endswith(f"/{INDEX_NAME}"):
        return  # the index pins the parts (read above); the parts name the files
    new_lines = changed_lines(ws, relative)
    part = ws.path(relative) if "/" in relative.removeprefix(f"{CHECKSUMS_DIR}/") else None
    for entry in entries.values():
        if part is not None and entry.source != part:
            continue
        if new_lines is None or f"{entry.sha256}  {entry.path}" in new_lines:
            verification.add(dataset, entry.path, entry.sha256, ws.rel(entry.source or relative), entry.line)


def _candidates(path: str, tier: Any) -> list[str]:
    options = [path]
    if isinstance(tier, str) and not path.startswith(f"{tier}/"):
        options.insert(0, f"{tier}/{path}")
    return options


def check_provenance_file(
    ws: Workspace, relative: str, dataset: str, book: ManifestBook, verification: Verification
) -> None:
    import orjson

    from drumgate.io.rowscan import scan_jsonl

    reporter = book.reporter
    if generated_empty_manifest(ws, dataset, relative):
        return  # drumgate wrote it empty (an empty root) and its lock says so, as the schema hook allows
    new_lines = changed_lines(ws, relative)

    def report(err: DrumgateError) -> None:  # a damaged row: the committed file back, or its group's repro
        err.path = relative
        artifact = classify(relative)
        reporter.add(err, restore_fix(ws, artifact, f"drumgate repro {dataset}") if artifact else None)

    missing_reported: set[str] = set()
    fixes: dict[str, str] = {}  # per dataset: provenance and manifest disagree, so both are read again

    def differs_fix(source_dataset: str) -> str:
        """Read (the config and the lock) only when a finding needs it."""
        if source_dataset not in fixes:
            fixes[source_dataset] = reread_fix(ws, source_dataset)
        return fixes[source_dataset]

    for line_no, row in scan_jsonl(ws.path(relative), report):
        files = row.get("source_files")
        if not isinstance(files, list):
            continue
        # combined provenance rows name their own dataset; its checksum manifest vouches for them
        source_dataset = row.get("source_dataset") if isinstance(row.get("source_dataset"), str) else dataset
        entries = book.entries(source_dataset)
        if entries is None:
            if source_dataset not in missing_reported:
                missing_reported.add(source_dataset)
                reporter.finding(
                    relative,
                    f"provenance staged but {ws.rel(ws.checksums(source_dataset))} does not exist",
                    hint=book.generate_fix(source_dataset),
                )
            continue
        row_is_new = new_lines is None or orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode() in new_lines
        for item in files:
            _check_source_file(
                differs_fix,
                book.generate_fix,
                item,
                row.get("tier"),
                entries,
                relative,
                line_no,
                source_dataset,
                reporter,
                verification if row_is_new else None,
            )


def _check_source_file(
    differs_fix: Callable[[str], str],
    missing_fix: Callable[[str], str],
    item: Any,
    tier: Any,
    entries: dict[str, Any],
    relative: str,
    line_no: int,
    dataset: str,
    reporter: Reporter,
    verification: Verification | None,
) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return
    digest = item.get("sha256")
    if not isinstance(digest, str):  # none yet (null), or a wrong type the schema hook words
        return
    for key in _candidates(item["path"], tier):
        entry = entries.get(key)
        if entry is None:
            continue
        if entry.sha256 != digest:
            reporter.finding(
                relative,
                f"{key}: sha256 {digest[:12]}... differs from the checksum manifest ({entry.sha256[:12]}...)",
                line=line_no,
                hint=differs_fix(dataset),
            )
        elif verification is not None:
            verification.add(dataset, key, digest, relative, line_no)
        return
    reporter.finding(
        relative,
        f"{item['path']}: not in the checksum manifest {checksum_manifest(dataset)}",
        line=line_no,
        hint=missing_fix(dataset),
    )


def _exists(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder it may not enter: there, but not readable (the hash words it)
        return True


def verify_files(ws: Workspace, verification: Verification, reporter: Reporter) -> bool:
    """Hash the named files on mounted tiers (every byte read: no stat cache); note offline tiers.
    True when every named file was on a mounted tier."""
    if not verification.wanted:
        return True
    from drumgate.checksums import hash_files
    from drumgate.checksums.roots import ManifestRoots

    datasets = ManifestRoots(ws)  # a manifest made with `--root DIR` is verified against that folder
    present: dict[str, Path] = {}
    expected: dict[str, tuple[str, str, str, int | None]] = {}
    offline: dict[tuple[str, str], int] = {}
    fixes: dict[str, str] = {}

    def accept_fix(dataset: str, where: str) -> str:
        """A checksum line is accepted by `--update`; a provenance row only by ingesting again."""
        if not where.startswith(f"{PROVENANCE_DIR}/"):  # with the `--root` the manifest was made from
            return UPDATE_FIX.format(command=generate_command(dataset, update=True, root=datasets.root(dataset)))
        if dataset not in fixes:
            fixes[dataset] = reread_fix(ws, dataset, restore_first=True)
        return fixes[dataset]

    missing: dict[tuple[str, str], list[tuple[str, str, int | None]]] = {}
    for (dataset, entry_path), (digest, where, line) in sorted(verification.wanted.items()):
        try:
            resolved = datasets.mounted_file(dataset, entry_path)
        except DrumgateError as err:
            reporter.finding(where, f"{entry_path}: {err.message}", line=line, hint=GENERATE_FIX.format(ds=dataset))
            continue
        if resolved is None:
            tier = entry_path.split("/", 1)[0]
            offline[(dataset, tier)] = offline.get((dataset, tier), 0) + 1
            continue
        if not _exists(resolved):
            missing.setdefault((dataset, entry_path.split("/", 1)[0]), []).append((entry_path, where, line))
            continue
        key = f"{dataset}:{entry_path}"
        present[key] = resolved
        expected[key] = (dataset, digest, where, line)
    for (dataset, tier), named in sorted(missing.items()):
        note = None if any(key.startswith(f"{dataset}:{tier}/") for key in present) else (
            datasets.unfilled_tier_note(dataset, tier, len(named)))
        if note:
            reporter.note(None, note)
            offline[(dataset, tier)] = 0  # not verified: the verdict stays open
        for entry_path, where, line in [] if note else named:
            reporter.finding(where, f"{entry_path}: missing on disk", line=line, hint=accept_fix(dataset, where))
    outcome = hash_files(present, None, None, None)
    for problem in outcome.problems:
        reporter.finding(None, problem)
    for key, digest in sorted(outcome.digests.items()):
        dataset, wanted, where, line = expected[key]
        if digest != wanted:
            entry_path = key.split(":", 1)[1]
            reporter.finding(
                where,
                f"{entry_path}: file on disk has sha256 {digest[:12]}..., recorded {wanted[:12]}...",
                line=line,
                hint=accept_fix(dataset, where),
            )
    for (dataset, tier), count in sorted(offline.items()):
        if count:  # an unfilled tier's note is given above
            reporter.note(None, f"{dataset} tier {tier!r} is offline: {count} files not verified"
                                " (mount it to check them)")
    return not offline


@dataclass
class PartVerdicts:
    """Provenance parts passed before are skipped; a part passes when it has no finding and every
    file it names was hashed (an offline tier leaves its verdict open)."""

    seen: SeenParts
    pending: list[tuple[str, str, str]] = field(default_factory=list)  # (path, context, digest)

    def already_passed(self, ws: Workspace, relative: str, dataset: str) -> bool:
        manifest = parts.location(ws.checksums(dataset))
        context = content_digest(manifest.read_bytes()) if manifest.is_file() else "no-manifest"
        digest = content_digest(ws.path(relative).read_bytes())
        if self.seen.seen(context, digest):
            return True
        self.pending.append((relative, context, digest))
        return False

    def close(self, reporter: Reporter, all_hashed: bool) -> None:
        for relative, context, digest in self.pending:
            if all_hashed and not findings_about(reporter, relative):
                self.seen.passed(context, digest)
        self.seen.close()


def _targets(ws: Workspace, filenames: Iterable[str], verify_all: bool) -> list[str]:
    relatives = [workspace_relative(ws, name) for name in filenames]
    if verify_all and not relatives:
        folder = ws.root / CHECKSUMS_DIR
        found = [*folder.glob("*.sha256"), *folder.glob(f"*/{INDEX_NAME}")] if folder.is_dir() else []
        relatives = sorted(ws.rel(path) for path in found)
    return relatives


def check_files(ws: Workspace, filenames: Sequence[str], reporter: Reporter, verify_all: bool = False) -> int:
    """Staged checksum manifests and provenance files; `verify_all` hashes whole trees (every
    dataset's manifest when no file is given)."""
    book = ManifestBook(ws, reporter)
    verification = Verification()
    full_trees: dict[str, None] = {}  # each dataset once, however many of its parts are named
    verdicts: PartVerdicts | None = None
    targets = _targets(ws, filenames, verify_all)
    for relative in [*targets, *_unstaged_provenance(ws, targets)]:
        artifact = classify(relative)
        if artifact is None or artifact.group is None:
            continue
        if artifact.manifest == "checksums" or artifact.kind in ("provenance", "provenance_part"):
            reporter.checking(relative)
        if artifact.manifest == "checksums" and verify_all:
            full_trees[artifact.group] = None
        elif artifact.manifest == "checksums":
            check_manifest_file(ws, relative, artifact.group, book, verification)
        elif artifact.kind in ("provenance", "provenance_part"):
            if not ws.path(relative).is_file():
                reporter.finding(relative, "file not found")
                continue
            if artifact.is_part:
                verdicts = verdicts or PartVerdicts(SeenParts(ws, "checksums"))
                if verdicts.already_passed(ws, relative, artifact.group):
                    continue
            check_provenance_file(ws, relative, artifact.group, book, verification)
    all_hashed = verify_files(ws, verification, reporter)
    if verdicts is not None:
        verdicts.close(reporter, all_hashed)
    status = reporter.close()
    return max([status, *(verify_tree(ws, dataset) for dataset in full_trees)])


def _unstaged_provenance(ws: Workspace, targets: Sequence[str]) -> list[str]:
    """The provenance of each dataset whose checksum manifest changed without its provenance: the
    committed rows must still agree with the manifest's new lines (a file accepted with `checksums
    generate --update` but not ingested again leaves the provenance naming its old sha256)."""
    from drumgate.io import parts as row_parts

    staged = {artifact.group for relative in targets if (artifact := classify(relative)) is not None
              and artifact.kind in ("provenance", "provenance_part")}
    found: list[str] = []
    for relative in targets:
        artifact = classify(relative)
        if artifact is None or artifact.manifest != "checksums" or artifact.group in staged:
            continue
        if not changed_lines(ws, relative):
            continue  # unchanged, or new (its provenance is new too and staged with it)
        staged.add(artifact.group)
        provenance = row_parts.stored(ws.path(provenance_manifest(artifact.group)))
        if provenance is not None and provenance.is_dir():
            found += sorted(ws.rel(provenance / part) for part in row_parts.part_files(provenance))
        elif provenance is not None:
            found.append(ws.rel(provenance))
    return found


def verify_tree(ws: Workspace, dataset: str) -> int:
    """The whole tree against its manifest: `drumgate checksums verify <ds>`, every byte read."""
    from drumgate.checksums import verify
    from drumgate.checksums.roots import manifest_root

    try:
        return verify(ws, dataset, jobs=None, root=manifest_root(ws, dataset))
    except DrumgateError as err:  # a tier that holds none of its files: a finding, and the next dataset
        print(str(err), file=sys.stderr)
        return EXIT_FINDINGS

"""Hook: JSONL manifests and JSON reports match their schema in `configs/schemas/`, chosen by path.

Every error names the file, the line (JSONL) and the JSON path inside the row or document.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks._hookutil import (
    Reporter,
    SeenParts,
    artifact_fix,
    content_digest,
    finding_fix,
    findings_about,
    generated_empty_manifest,
    restore_fix,
    workspace_relative,
)
from drumgate.artifacts import Artifact, classify
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _parse_document(data: bytes, path: str) -> Any:
    """One JSON document, refusing NaN, Infinity and duplicate keys; problems raise DrumgateError."""
    from drumgate.io.jsonio import LFS_POINTER_PREFIX
    from drumgate.io.rowscan import LFS_FIX, reject_duplicate_keys

    if not data.strip():
        raise DrumgateError("empty file, expected a JSON document", path=path)
    if data.startswith(LFS_POINTER_PREFIX):
        raise DrumgateError("Git LFS pointer, not the file", path=path, hint=LFS_FIX)
    if b"\x00" in data:
        raise DrumgateError("binary content, not JSON", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DrumgateError("not valid UTF-8", path=path) from exc
    try:
        return json.loads(text, object_pairs_hook=reject_duplicate_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise DrumgateError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    except ValueError as exc:
        raise DrumgateError(f"invalid JSON: {exc}", path=path) from exc


def _fixes(ws: Workspace, artifact: Artifact, fallback: str) -> tuple[Callable[[], str], Callable[[], str]]:
    """The artifact's fix and its restore fix, each worked out (a git call, a lock read) only when
    a finding needs it: a clean file costs nothing."""
    return (functools.cache(lambda: artifact_fix(ws, artifact, fallback)),
            functools.cache(lambda: restore_fix(ws, artifact, fallback)))


def check_document(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter) -> None:
    hint, restore = _fixes(ws, artifact, "regenerate it with the drumgate command that wrote it")
    try:
        document = _parse_document(ws.path(artifact.path).read_bytes(), artifact.path)
    except DrumgateError as err:
        err.path = err.path or artifact.path
        reporter.add(err, finding_fix(err.hint, hint, restore))
        return
    for issue in validator.issues(document):
        reporter.finding(artifact.path, f"{issue.json_path}: {issue.message}", hint=hint())


def check_jsonl(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter) -> None:
    """Validate every row: big sound files in chunks on every core, anything else line by line.

    An events manifest's label combinations are left for the taxonomy hook (`drumgate.io.scanmemo`).
    """
    from drumgate.io import scanmemo

    hint, restore = _fixes(ws, artifact, "correct the row or regenerate the manifest")
    scan = chunked_scan(ws.path(artifact.path), validator, collect_label_keys=artifact.schema == "events")
    if scan is None:
        _check_jsonl_sequential(ws, artifact, validator, reporter, hint, restore)
        return
    for finding in scan.findings:
        reporter.finding(artifact.path, finding.message, line=finding.line,
                         hint=finding_fix(finding.hint, hint, restore))
    if scan.label_keys is not None:
        scanmemo.save(scan.digest, scanmemo.ScanFacts(scan.sound, frozenset(scan.label_keys)))


@dataclass
class ChunkScan:
    """Findings in line order; `sound` when no line was unsound JSON; label keys when collected."""

    findings: list[Any] = field(default_factory=list)
    sound: bool = True
    label_keys: set[tuple[Any, ...]] | None = None
    digest: str | None = None


def chunked_scan(path: Path, validator: Any, collect_label_keys: bool = False) -> ChunkScan | None:
    """Every line finding of a JSONL file, or None when the file needs the sequential scan."""
    from drumgate.io.chunkscan import load_for_chunks, map_chunks

    loaded = load_for_chunks(path, want_digest=collect_label_keys)
    if loaded.data is None:
        return None
    work = functools.partial(_schema_chunk, validator, collect_label_keys)
    total = ChunkScan(label_keys=set() if collect_label_keys else None, digest=loaded.digest)
    for part in map_chunks(loaded.data, work):
        total.findings.extend(part.findings)
        total.sound = total.sound and part.sound
        if total.label_keys is not None:
            total.label_keys = None if part.label_keys is None else total.label_keys | part.label_keys
    return total


BATCH_ROWS = 64  # small batches stay in the CPU cache: measured fastest per row


def _schema_chunk(validator: Any, collect_label_keys: bool, chunk: bytes, first_line: int) -> ChunkScan:
    """One chunk: rows validated a batch per call, label combinations gathered on the way."""
    from checks._labels import label_keys
    from drumgate.io.chunkscan import LineFinding, lean_batches

    line_findings: list[LineFinding] = []
    schema_findings: list[LineFinding] = []
    keys: set[tuple[Any, ...]] | None = set() if collect_label_keys else None
    for numbers, rows in lean_batches(chunk, first_line, line_findings, BATCH_ROWS):
        valid = validator.all_accepted(rows)
        if not valid:
            schema_findings.extend(_row_findings(validator, numbers, rows))
        if keys is not None:
            keys = label_keys(rows, keys, schema_valid=valid and validator.name == "events")
    findings = sorted([*line_findings, *schema_findings], key=lambda finding: finding.line)
    return ChunkScan(findings, not line_findings, keys)


def _row_findings(validator: Any, numbers: list[int], rows: list[dict[str, Any]]) -> list[Any]:
    from drumgate.io.chunkscan import LineFinding

    found = []
    for line_no, row in zip(numbers, rows, strict=True):
        if not validator.fast_accepts(row):
            found.extend(LineFinding(line_no, f"{i.json_path}: {i.message}") for i in validator.reference_issues(row))
    return found


def _check_jsonl_sequential(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter,
                            hint: Callable[[], str], restore: Callable[[], str]) -> None:
    from drumgate.io.rowscan import scan_jsonl

    def report(err: DrumgateError) -> None:
        reporter.add(_relative(err, artifact), finding_fix(err.hint, hint, restore))

    fast_accepts = validator.fast_accepts
    for line_no, row in scan_jsonl(ws.path(artifact.path), report):
        if fast_accepts(row):
            continue
        for issue in validator.reference_issues(row):
            reporter.finding(artifact.path, f"{issue.json_path}: {issue.message}", line=line_no, hint=hint())


def _relative(err: DrumgateError, artifact: Artifact) -> DrumgateError:
    err.path = artifact.path
    return err


class FolderIndexes:
    """The index of each partitioned folder a staged part belongs to, read once per run."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._listed: dict[str, dict[str, tuple[str, int]] | None] = {}

    def problem(self, artifact: Artifact, digest: str) -> str | None:
        """What is wrong between a part and its folder's index (None when the index is unreadable:
        the index itself is reported when it is staged, and by the freshness hook)."""
        from drumgate.io import parts

        assert artifact.folder is not None
        if artifact.folder not in self._listed:
            folder = self.ws.path(artifact.folder)
            if not (folder / parts.INDEX_NAME).is_file():
                return "part of a folder that has no index.json"
            try:
                self._listed[artifact.folder] = parts.listed_files(parts.read_index(folder))
            except DrumgateError:
                self._listed[artifact.folder] = None
        listed = self._listed[artifact.folder]
        if listed is None:
            return None
        inside = artifact.path[len(artifact.folder) + 1 :]
        return parts.part_problem(self.ws.path(artifact.folder), inside, digest, listed)


@dataclass
class PartCheck:
    """What a run needs to check parts: the verdicts kept from earlier runs and the folders' indexes."""

    seen: SeenParts
    indexes: FolderIndexes
    contexts: dict[str, str] = field(default_factory=dict)

    def context(self, ws: Workspace, schema: str) -> str:
        """The schema's own digest and the version of the checks beside it: a verdict holds only for
        the rules that gave it."""
        if schema not in self.contexts:
            from drumgate.schemas import EXACT_FIELDS, EXACT_FIELDS_VERSION, schema_path

            digest = content_digest(schema_path(ws, schema).read_bytes())
            exact = f":exact{EXACT_FIELDS_VERSION}" if schema in EXACT_FIELDS else ""
            self.contexts[schema] = f"{schema}:{digest}{exact}"
        return self.contexts[schema]


def check_part(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter, check: PartCheck) -> None:
    """One staged part: listed in its index with this sha256, and its rows valid unless these
    bytes already passed under the same schema (`SeenParts`)."""
    digest = content_digest(ws.path(artifact.path).read_bytes())
    problem = check.indexes.problem(artifact, digest)
    if problem is not None:
        reporter.finding(artifact.path, problem, hint=artifact_fix(ws, artifact, "regenerate the manifest"))
    assert artifact.schema is not None
    context = check.context(ws, artifact.schema)
    if check.seen.seen(context, digest):
        return
    before = findings_about(reporter, artifact.path)
    check_jsonl(ws, artifact, validator, reporter)
    if findings_about(reporter, artifact.path) == before:
        check.seen.passed(context, digest)


def check_index(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter) -> None:
    """A folder's index.json: its schema, then the folder against it (its pages sound, every part
    listed and present, no key twice, none over the size limit); part digests are checked as parts
    are staged."""
    from drumgate.io import parts

    before = findings_about(reporter, artifact.path)
    check_document(ws, artifact, validator, reporter)
    if findings_about(reporter, artifact.path) != before:
        return
    assert artifact.folder is not None
    folder = ws.path(artifact.folder)
    try:
        found = parts.problems(folder, parts.read_index(folder), hash_parts=False)  # pages checked on reading
    except DrumgateError as err:
        found = [err]
    for err in found:
        err.path = ws.rel(err.path) if err.path else artifact.path
        reporter.add(err)


def schema_restore_fix(ws: Workspace, schema_file: str) -> str:
    """The committed schema back when it differs from it, else `drumgate init`'s copy (of a missing one:
    a schema committed damaged is removed first)."""
    import shlex

    from drumgate.config import restore_configs_fix
    from drumgate.git import restorable, restore_command

    if restorable(ws.root, schema_file):
        return f"fix: {restore_command(schema_file, root=ws.root)}"
    remove = f"rm {shlex.quote(str(ws.path(schema_file)))} && " if ws.path(schema_file).exists() else ""
    return f"fix: {remove}{restore_configs_fix(ws.root).removeprefix('fix: ')}"


def check_file(ws: Workspace, filename: str, reporter: Reporter, part_check: PartCheck | None = None) -> None:
    from drumgate.schemas import validator_for

    relative = workspace_relative(ws, filename)
    artifact = classify(relative)
    if artifact is None or artifact.schema is None:
        return
    reporter.checking(relative)
    if not ws.path(relative).is_file():
        reporter.finding(relative, "file not found")
        return
    try:
        validator = validator_for(ws, artifact.schema)
    except DrumgateError as err:
        schema_file = ws.rel(err.path) if err.path else f"configs/schemas/{artifact.schema}.schema.json"
        reporter.finding(
            schema_file,
            f"cannot check {relative}: {err.message}",
            line=err.line,
            hint=schema_restore_fix(ws, schema_file),
        )
        return
    if artifact.is_part:
        own = part_check is None
        check = part_check or PartCheck(SeenParts(ws, "schema"), FolderIndexes(ws))
        check_part(ws, artifact, validator, reporter, check)
        if own:
            check.seen.close()
    elif artifact.is_index:
        check_index(ws, artifact, validator, reporter)
    elif artifact.is_jsonl:
        if generated_empty_manifest(ws, artifact.group, relative):
            return
        check_jsonl(ws, artifact, validator, reporter)
    else:
        check_document(ws, artifact, validator, reporter)


def check_files(ws: Workspace, filenames: Sequence[str], reporter: Reporter) -> int:
    """Each file against the schema its path names; parts share one verdict cache and index reader."""
    part_check: PartCheck | None = None
    for filename in filenames:
        if part_check is None and (found := classify(workspace_relative(ws, filename))) and found.is_part:
            part_check = PartCheck(SeenParts(ws, "schema"), FolderIndexes(ws))
        check_file(ws, filename, reporter, part_check)
    if part_check is not None:
        part_check.seen.close()
    return reporter.close()

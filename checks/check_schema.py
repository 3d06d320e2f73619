"""Hook: JSONL manifests and JSON reports match their schema in `configs/schemas/`, chosen by path.

Every error names the file, the line (JSONL) and the JSON path inside the row or document.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from checks._hookutil import Reporter, add_filenames, fix_hint, workspace_relative
from drumgate import cli
from drumgate.artifacts import Artifact, classify
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_filenames(parser)


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _parse_document(data: bytes, path: str) -> Any:
    """One JSON document, refusing NaN, Infinity and duplicate keys; problems raise DrumgateError."""
    from drumgate.jsonio import LFS_POINTER_PREFIX
    from drumgate.rowscan import LFS_FIX, reject_duplicate_keys

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


def check_document(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter) -> None:
    hint = fix_hint(ws, artifact.group, artifact.path, "regenerate it with the drumgate command that wrote it")
    try:
        document = _parse_document(ws.path(artifact.path).read_bytes(), artifact.path)
    except DrumgateError as err:
        err.path = err.path or artifact.path
        reporter.add(err, hint)
        return
    for issue in validator.issues(document):
        reporter.finding(artifact.path, f"{issue.json_path}: {issue.message}", hint=hint)


def check_jsonl(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter) -> None:
    """Validate every row: big sound files in chunks on every core, anything else line by line."""
    hint = fix_hint(ws, artifact.group, artifact.path, "correct the row or regenerate the manifest")
    findings = chunked_findings(ws.path(artifact.path), validator)
    if findings is None:
        _check_jsonl_sequential(ws, artifact, validator, reporter, hint)
        return
    for finding in findings:
        reporter.finding(artifact.path, finding.message, line=finding.line, hint=finding.hint or hint)


def chunked_findings(path: Path, validator: Any) -> list[Any] | None:
    """Every line finding of a JSONL file in line order, or None when it needs the sequential scan."""
    from drumgate.chunkscan import load_for_chunks, map_chunks

    data = load_for_chunks(path)
    if data is None:
        return None
    chunks = map_chunks(data, functools.partial(_schema_chunk, validator))
    return [finding for findings in chunks for finding in findings]


BATCH_ROWS = 4096


def _schema_chunk(validator: Any, chunk: bytes, first_line: int) -> list[Any]:
    """Findings of one chunk in line order; rows are validated a batch per call."""
    from drumgate.chunkscan import LineFinding, lean_rows

    findings: list[LineFinding] = []
    batch: list[tuple[int, dict[str, Any]]] = []
    for item in lean_rows(chunk, first_line, findings):
        batch.append(item)
        if len(batch) == BATCH_ROWS:
            findings.extend(_batch_findings(validator, batch))
            batch = []
    findings.extend(_batch_findings(validator, batch))
    findings.sort(key=lambda finding: finding.line)
    return findings


def _batch_findings(validator: Any, batch: list[tuple[int, dict[str, Any]]]) -> list[Any]:
    from drumgate.chunkscan import LineFinding

    if validator.all_accepted([row for _, row in batch]):
        return []
    found = []
    for line_no, row in batch:
        if not validator.fast_accepts(row):
            found.extend(LineFinding(line_no, f"{i.json_path}: {i.message}") for i in validator.reference_issues(row))
    return found


def _check_jsonl_sequential(ws: Workspace, artifact: Artifact, validator: Any, reporter: Reporter, hint: str) -> None:
    from drumgate.rowscan import scan_jsonl

    fast_accepts = validator.fast_accepts
    for line_no, row in scan_jsonl(ws.path(artifact.path), lambda err: reporter.add(_relative(err, artifact), hint)):
        if fast_accepts(row):
            continue
        for issue in validator.reference_issues(row):
            reporter.finding(artifact.path, f"{issue.json_path}: {issue.message}", line=line_no, hint=hint)


def _relative(err: DrumgateError, artifact: Artifact) -> DrumgateError:
    err.path = artifact.path
    return err


def check_file(ws: Workspace, filename: str, reporter: Reporter) -> None:
    from drumgate.schemas import validator_for

    relative = workspace_relative(ws, filename)
    artifact = classify(relative)
    if artifact is None or artifact.schema is None:
        return
    if not ws.path(relative).is_file():
        reporter.finding(relative, "file not found")
        return
    try:
        validator = validator_for(ws, artifact.schema)
    except DrumgateError as err:
        reporter.note(relative, f"not checked: {err.message} {Path(str(err.path)).name}")
        return
    if artifact.is_jsonl:
        check_jsonl(ws, artifact, validator, reporter)
    else:
        check_document(ws, artifact, validator, reporter)


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    reporter = Reporter()
    for filename in args.filenames:
        check_file(ws, filename, reporter)
    return reporter.close()


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m checks.check_schema")


if __name__ == "__main__":
    raise SystemExit(main())

"""Deterministic, atomic JSON and JSONL I/O with line-numbered errors; `.gz` is transparent.

orjson is the codec on the hot paths (13M-row manifests): it is several times faster than the
stdlib, refuses NaN/Infinity when parsing, and its output is stable for a given version. The
stdlib codec stays available as the reference (`loads_reference`) that tests compare against.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_writer, open_for_reading, read_bytes
from drumgate.io.lines import LFS_HINT as LFS_HINT
from drumgate.io.lines import LFS_POINTER_PREFIX, ErrorSink, JsonRow, is_gzip_path, lfs_pointer_error, rows_of_file
from drumgate.io.lines import MAX_LINE_BYTES as MAX_LINE_BYTES
from drumgate.io.lines import iter_capped_lines as iter_capped_lines
from drumgate.io.lines import long_line_error as long_line_error
from drumgate.io.lines import parse_line as parse_line
from drumgate.io.lines import rows_of_lines as rows_of_lines

# The line reader is drumgate.io.lines; its names imported `X as X` above stay importable from here
# for readers written against jsonio.
PACKAGE_SCHEMAS = Path(__file__).resolve().parents[1] / "defaults" / "configs" / "schemas"
MAX_ISSUE_CHARS = 200
MAX_GZIP_DOCUMENT_BYTES = 64 << 20  # reports, locks and configs are kilobytes; a bomb stops here
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _check_finite(value: Any, path: Path) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise DrumgateError("NaN or Infinity cannot be written to JSON", path=path)
    if isinstance(value, dict):
        for item in value.values():
            _check_finite(item, path)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_finite(item, path)


def dumps_row(row: JsonRow) -> bytes:
    """One JSONL line (without newline): sorted keys, compact, UTF-8."""
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)


def dumps_document(obj: Any) -> bytes:
    """A whole JSON document: sorted keys, two-space indent, trailing newline."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def loads_reference(text: str | bytes) -> Any:
    """The stdlib parser with NaN/Infinity refused: the reference the fast path must agree with."""

    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def _open_read(path: Path) -> io.BufferedIOBase:
    raw = open_for_reading(path)
    if is_gzip_path(path):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw  # type: ignore[return-value]


def iter_jsonl(
    path: str | Path, on_error: ErrorSink | None = None, per_render: bool = True
) -> Iterator[tuple[int, JsonRow]]:
    """Yield (line number, row) for each non-blank line of a `.jsonl[.gz]` file (drumgate.io.lines);
    a partitioned folder (drumgate.io.parts), named itself or by its single-file name, yields its
    rows with row numbers, a bad line naming its part and line, E-GMD rows once per render unless
    `per_render` is False; the combined manifest's reference (`*.json`, drumgate.io.combined_reference)
    yields the combined rows it stands for.

    Without `on_error` the first bad line raises; with it, bad lines are reported to the sink and
    skipped, so valid rows keep their own line numbers. Whole-file problems always raise.
    """
    source = Path(path)
    from drumgate.io import combined_reference  # it reads its sources through this function

    reference = combined_reference.reference_path(source)
    if reference is not None:
        yield from combined_reference.iter_reference(reference, on_error, per_render)
        return
    if source.is_dir() or not source.exists():
        from drumgate.io import parts  # parts reads through this module's writer and lines

        folder = parts.resolve(source)
        if folder.is_dir():
            parts.verify(folder, hash_parts=False)  # structure first; each part's sha256 is checked as it is read
            yield from parts.iter_folder(folder, on_error, per_render)
            return
    yield from rows_of_file(source, on_error)


def is_blank_file(path: str | Path) -> bool:
    """True when the file (inflated, for `.gz`) holds nothing but white space; streams, and stops at
    the first other byte. An unreadable file or a damaged gzip stream is not blank."""
    try:
        with _open_read(Path(path)) as handle:
            while block := handle.read(1 << 16):
                if block.strip():
                    return False
    except (DrumgateError, EOFError, OSError, zlib.error):
        return False
    return True


def read_jsonl(path: str | Path) -> list[JsonRow]:
    return [row for _, row in iter_jsonl(path)]


def encode_jsonl(rows: Iterable[JsonRow]) -> bytes:
    return b"".join(dumps_row(row) + b"\n" for row in rows)


def write_jsonl(path: str | Path, rows: Iterable[JsonRow]) -> int:
    """Write rows atomically in the given order; gzip with mtime 0 for `.gz`. Returns the row count."""
    target = Path(path)
    count = 0
    with atomic_writer(target) as handle:
        sink: Any = handle
        if is_gzip_path(target):
            sink = gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0)
        for row in rows:
            try:
                sink.write(dumps_row(row))
            except TypeError as exc:
                raise DrumgateError(f"row {count + 1} cannot be encoded: {exc}", path=target) from exc
            sink.write(b"\n")
            count += 1
        if sink is not handle:
            sink.close()
    return count


def read_json(path: str | Path) -> Any:
    """Read one JSON document; errors name the file and line."""
    source = Path(path)
    if is_gzip_path(source):
        data = _inflate_document(source)
    else:
        data = read_bytes(source)
    if data.startswith(LFS_POINTER_PREFIX):
        raise lfs_pointer_error(source, "a JSON file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DrumgateError("not valid UTF-8", path=source) from exc
    try:
        document = loads_reference(text)
    except json.JSONDecodeError as exc:
        raise DrumgateError(f"invalid JSON: {exc.msg}", path=source, line=exc.lineno) from exc
    except ValueError as exc:
        raise DrumgateError(f"invalid JSON: {exc}", path=source) from exc
    except RecursionError as exc:
        raise DrumgateError("invalid JSON: nested too deeply", path=source) from exc
    if _SURROGATE_ESCAPE.search(data) and has_lone_surrogate(document):
        raise DrumgateError("invalid JSON: a \\u escape is half of a surrogate pair (not text)", path=source)
    return document


def _inflate_document(source: Path) -> bytes:
    """A `.json.gz` document inflated, refused once it passes MAX_GZIP_DOCUMENT_BYTES (never inflated whole)."""
    try:
        with _open_read(source) as handle:
            data = handle.read(MAX_GZIP_DOCUMENT_BYTES + 1)
    except (gzip.BadGzipFile, EOFError, OSError, zlib.error) as exc:
        raise DrumgateError("damaged gzip stream", path=source) from exc
    if len(data) > MAX_GZIP_DOCUMENT_BYTES:
        raise DrumgateError(f"inflates past {MAX_GZIP_DOCUMENT_BYTES >> 20} MiB, too big for one JSON document",
                            path=source)
    return data


def has_lone_surrogate(value: Any) -> bool:
    """True when a string in `value` (keys too) holds a surrogate that is not part of a pair."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


@functools.cache
def _package_validator(schema: str) -> Any:
    from drumgate.schemas import RowValidator

    return RowValidator(schema, read_json(PACKAGE_SCHEMAS / f"{schema}.schema.json"))


def schema_problem(value: Any, schema: str) -> str | None:
    """What is wrong with `value` by drumgate's own `<schema>.schema.json` (the shape the code relies
    on, whatever a workspace's copy says), or None when it matches."""
    validator = _package_validator(schema)
    if validator.fast_accepts(value):
        return None
    issues = validator.reference_issues(value)
    if not issues:
        return None
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    first = str(issues[0])
    first = first if len(first) <= MAX_ISSUE_CHARS else first[:MAX_ISSUE_CHARS] + "..."
    return f"does not match the {schema} schema: {first}{more}"


def check_schema(value: Any, schema: str, path: str | Path, line: int | None = None, hint: str | None = None) -> Any:
    """`value` when it matches drumgate's `<schema>.schema.json`, else a one-line DrumgateError."""
    problem = schema_problem(value, schema)
    if problem:
        raise DrumgateError(problem, path=path, line=line, hint=hint)
    return value


def read_json_checked(path: str | Path, schema: str, hint: str | None = None) -> Any:
    """Read a JSON document and check it against drumgate's schema before anything uses it."""
    return check_schema(read_json(path), schema, path, hint=hint)


def document_bytes(obj: Any, path: str | Path) -> bytes:
    """What `write_json` writes to `path` (NaN and infinity refused, naming it)."""
    _check_finite(obj, Path(path))
    return dumps_document(obj)


def write_json(path: str | Path, obj: Any) -> None:
    target = Path(path)
    data = document_bytes(obj, target)
    with atomic_writer(target) as handle:
        handle.write(data)

"""The one JSONL line reader: numbered lines of a file (plain or gzip) or of bytes, and rows of lines.

Every reader of JSON lines goes through here: `jsonio.iter_jsonl` (the readers' API), the hooks'
reference scan (`rowscan`) and fast chunked scan (`chunkscan`), partitioned parts (`parts`) and
the trainers' `drumgate.events`. What they share:

- lines are numbered from 1 and capped at MAX_LINE_BYTES: a longer line comes as None, read past
  in blocks and never held whole, so one enormous line costs neither memory nor quadratic time;
- whole-file problems are one DrumgateError each, with one wording: a folder where a file is
  expected, a missing or unreadable file, a Git LFS pointer (stored plain or as `.gz`), a damaged
  gzip stream (found wherever in the stream it is);
- `rows_of_lines` turns lines into rows with one orjson call per line, and words only the lines
  that are not a JSON object (`parse_line`), reporting them to `on_error` or raising.
"""

from __future__ import annotations

import gzip
import io
import shlex
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from drumgate.errors import REGENERATE_HINT, DrumgateError
from drumgate.io.fsutil import open_for_reading

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
LFS_HINT = "fix: run git lfs pull"
GZIP_MAGIC = b"\x1f\x8b"
# One JSONL row is a few hundred bytes; a line longer than this is refused (a finding) without
# being held whole or parsed.
MAX_LINE_BYTES = 4 << 20
LINE_TOO_LONG = f"line longer than {MAX_LINE_BYTES >> 20} MiB (the cap for one JSONL row)"
# A gzip stream read whole (a part, a hook's chunked scan) is refused past this; streams are read
# line by line instead and have no such cap.
MAX_INFLATED_BYTES = 64 << 20
READ_BLOCK = 1 << 20

FOLDER_HINT = "fix: give a .jsonl or .jsonl.gz file, not a folder"

JsonRow = dict[str, Any]
ErrorSink = Callable[[DrumgateError], None]
NumberedLines = Iterable[tuple[int, bytes | None]]


def is_gzip_path(path: str | Path) -> bool:
    return str(path).endswith(".gz")


def long_line_error(path: Path, line_no: int) -> DrumgateError:
    return DrumgateError(LINE_TOO_LONG, path=path, line=line_no, hint="split the row or regenerate the manifest")


def lfs_pointer_error(path: str | Path, expected: str = "the manifest") -> DrumgateError:
    return DrumgateError(f"Git LFS pointer, not {expected}", path=path, hint=LFS_HINT)


def damaged_gzip_error(path: str | Path, exc: BaseException) -> DrumgateError:
    return DrumgateError(f"damaged gzip stream ({exc})", path=path, hint=REGENERATE_HINT)


def iter_capped_lines(handle: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line without its newline) for each line; None instead of a line over `limit` bytes.

    The stream is read in blocks of at most `limit` bytes (what one read brings) and split in C, so
    a line inside one block is never too long; only a line carried across blocks is measured, and
    one over the cap is dropped as the blocks go by (memory bounded, time linear, gzip too).
    """
    block_size = max(1, min(READ_BLOCK, limit))
    read = getattr(handle, "read1", handle.read)  # what has arrived: a gzip stream's rows before damage
    line_no = 0
    head: bytes | None = b""  # the line the previous block left open; None once it passed the cap
    while block := read(block_size):
        pieces = block.split(b"\n")
        if len(pieces) == 1:
            if head is not None:
                head = head + block if len(head) + len(block) <= limit else None
            continue
        first = pieces[0]
        line_no += 1
        yield line_no, None if head is None or len(head) + len(first) > limit else head + first
        inner = pieces[1:-1]
        if inner:
            yield from zip(range(line_no + 1, line_no + 1 + len(inner)), inner, strict=True)
            line_no += len(inner)
        head = pieces[-1]
    if head is None or head:
        yield line_no + 1, head


def has_long_line(data: bytes, limit: int = MAX_LINE_BYTES) -> bool:
    """True when a line may be longer than `limit`; False guarantees every line is at most `limit`.

    A line longer than `limit` covers a whole aligned block of `limit // 2` bytes, so one `find`
    per block (each stops at its first newline, a few hundred bytes in) rules it out.
    """
    block = max(1, limit // 2)
    for start in range(0, len(data) - block + 1, block):
        if data.find(b"\n", start, start + block) < 0:
            return True
    return False


def numbered_lines_of(data: bytes, limit: int = MAX_LINE_BYTES) -> NumberedLines:
    """The numbered lines of bytes in memory, as iter_capped_lines gives them (one split when no line
    can pass the cap)."""
    if has_long_line(data, limit):
        return iter_capped_lines(io.BytesIO(data), limit)
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    return enumerate(pieces, start=1)


def inflate_capped(stored: bytes, cap: int = MAX_INFLATED_BYTES) -> bytes | None:
    """A single-member gzip file inflated whole when it is sound and at most `cap` bytes, else None."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(stored, cap)
    except zlib.error:
        return None
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        return None
    return data


def numbered_lines(path: str | Path, expected: str = "the manifest") -> Iterator[tuple[int, bytes | None]]:
    """The numbered lines of a `.jsonl` or `.jsonl.gz` file, streamed (iter_capped_lines).

    Whole-file problems raise one DrumgateError: a folder, a missing or unreadable file, a Git LFS
    pointer (`expected` names what it stands in for), a damaged gzip stream (raised where the damage
    is found, after the lines before it).
    """
    source = Path(path)
    if source.is_dir():
        raise DrumgateError("is a folder, expected a JSONL file", path=source, hint=FOLDER_HINT)
    compressed = is_gzip_path(source)
    with open_for_reading(source) as stored:
        try:
            if stored.peek(len(LFS_POINTER_PREFIX)).startswith(LFS_POINTER_PREFIX):  # type: ignore[attr-defined]
                raise lfs_pointer_error(source, expected)
            handle: IO[bytes] = gzip.GzipFile(fileobj=stored, mode="rb") if compressed else stored  # type: ignore[assignment]
            for line_no, raw in iter_capped_lines(handle):
                if line_no == 1 and raw is not None and raw.startswith(LFS_POINTER_PREFIX):
                    raise lfs_pointer_error(source, expected)
                yield line_no, raw
        except (EOFError, zlib.error) as exc:
            raise damaged_gzip_error(source, exc) from exc
        except OSError as exc:  # gzip.BadGzipFile is an OSError too
            if compressed:
                raise damaged_gzip_error(source, exc) from exc
            raise DrumgateError(f"cannot read: {exc.strerror or exc}", path=source) from exc


def gzip_damage(path: str | Path) -> DrumgateError | None:
    """The damaged-gzip finding of a `.gz` file inflated whole to its CRC and length check, or None when
    the stream is sound or the file is something `numbered_lines` words otherwise (missing, a folder, a
    Git LFS pointer). A checker calls it before the lines: the lines a damaged stream inflates to are
    garbage, and wording each of them buried the one finding that matters under dozens. It costs one
    more inflate of the stream (no line split, no parse); health's DuckDB count needs it anyway, since
    DuckDB does not check the trailer."""
    try:
        with open(path, "rb") as stored:
            if stored.peek(len(LFS_POINTER_PREFIX)).startswith(LFS_POINTER_PREFIX):
                return None
            with gzip.GzipFile(fileobj=stored, mode="rb") as inflated:
                while inflated.read(READ_BLOCK):
                    pass
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        return damaged_gzip_error(path, exc)
    except OSError:
        return None
    return None


def parse_line(raw: bytes, path: Path, line_no: int) -> JsonRow:
    """Parse one JSONL line into an object or raise a DrumgateError naming path:line."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            if line_no == 1 and raw.startswith(GZIP_MAGIC):  # the rest of it is binary too: say why once
                shown = shlex.quote(str(path))
                raise DrumgateError("a gzip file without the .gz name", path=path, line=line_no,
                                    hint=f"fix: mv {shown} {shown}.gz") from exc
            raise DrumgateError("not valid UTF-8", path=path, line=line_no) from exc
        detail = str(exc).split(":")[0]
        if b"NaN" in raw or b"Infinity" in raw:
            detail = "NaN or Infinity is not valid JSON"
        raise DrumgateError(f"invalid JSON: {detail}", path=path, line=line_no) from exc
    if not isinstance(value, dict):
        raise DrumgateError(
            f"each line must be a JSON object, got {type(value).__name__}", path=path, line=line_no
        )
    return value


def rows_of_lines(
    numbered: NumberedLines, path: Path, on_error: ErrorSink | None = None
) -> Iterator[tuple[int, JsonRow]]:
    """(line number, row) of each non-blank line: one orjson call per sound line; a line over the
    cap (None) or one that is not an object is worded and reported to `on_error` (or raised), and
    the rows after it keep their own line numbers."""
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    for line_no, raw in numbered:
        if raw is not None:
            try:
                row = loads(raw)
            except decode_error:
                row = None
            if type(row) is dict:
                yield line_no, row
                continue
            if not raw.strip():
                continue
        error = long_line_error(path, line_no) if raw is None else line_error(raw, path, line_no)
        if on_error is None:
            raise error
        on_error(error)


def line_error(raw: bytes, path: Path, line_no: int) -> DrumgateError:
    """What is wrong with a line orjson did not read as an object, worded by `parse_line`."""
    try:
        parse_line(raw, path, line_no)
    except DrumgateError as err:
        return err
    raise AssertionError("a line orjson refused parsed on the second try")


def rows_of_file(path: str | Path, on_error: ErrorSink | None = None) -> Iterator[tuple[int, JsonRow]]:
    """(line number, row) of a single `.jsonl[.gz]` file; whole-file problems always raise."""
    source = Path(path)
    yield from rows_of_lines(numbered_lines(source), source, on_error)

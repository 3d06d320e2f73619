"""Counting a plain or gzip events manifest with one DuckDB query, exact or not at all.

`counts_by_duckdb` reads the seven fields health keys on (and `attributes.performance`) with
DuckDB's `read_json` under a fixed schema (no sampling), every field as DuckDB's JSON type so a
value keeps its JSON spelling: one GROUPING SETS query gives the label table and the place table,
and each distinct key is decoded here by orjson into exactly the tuple `health_counts.count_events`
builds. It returns None, and the caller runs the exact Python scan (which words every bad line as
`path:line`), whenever it cannot show the result equal to that scan's:

- DuckDB refuses the file: malformed JSON, invalid UTF-8, a line that is not an object, a
  duplicated field among those read, `attributes` that is not an object or null, a damaged gzip
  (a gzip stream is first inflated whole here, since DuckDB does not check its CRC);
- a key `validate_counts` would reject (a missing or null required field, a wrong type, an unknown
  split or label source), or one whose value only equals others loosely (a float or boolean where
  an integer goes: 90.0 and true hash like 90 and 1, and the Python scan keeps whichever came first);
- the file starts with a byte-order mark (DuckDB skips it; orjson does not), or its path has a
  glob character (DuckDB would read the files the pattern matches);
- a null `techniques` or `velocity` (valid) unless a second query shows no row lacks the field
  (DuckDB reads a missing field as null too, and a missing one is a finding).

What DuckDB's parser accepts and orjson refuses, in fields health does not read, is not looked
for (finding it needs a second pass over every byte, which costs more than the query): NaN and
Infinity literals, trailing commas, nesting deeper than 1023, numbers beyond a double, and lines
over `drumgate.io.lines.MAX_LINE_BYTES`. Such a file is counted here where the Python scan would
refuse it.

Keys come without line numbers: `first_line` gives each key its rank in a fixed order (the keys'
`repr`, sorted) so that the order `validate_counts` walks them is deterministic; no finding is ever
worded from it, since every key passed `validate_counts` before the counts are returned.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import os
import threading
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.io.lines import is_gzip_path
from drumgate.io.statcache import StatKey, stat_key
from drumgate.reports.health_counts import EventCounts, validate_counts
from drumgate.workers import worker_count

BYTE_ORDER_MARK = b"\xef\xbb\xbf"
LABEL_FIELDS = ("label", "techniques", "label_source", "velocity")
PLACE_FIELDS = ("session_id", "split", "item_id")
COLUMNS = {name: "JSON" for name in (*LABEL_FIELDS, *PLACE_FIELDS)} | {"attributes": "STRUCT(performance JSON)"}
# A null here is valid in the Python scan only when the field is present.
NULLABLE = frozenset({"techniques", "velocity"})

# DuckDB reads its path argument as a glob: a name with these could stand for other files too
GLOB_CHARACTERS = frozenset("*?[]{}")
STOP_POLL_S = 0.02
_COLUMNS_SQL = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items()) + "}"


def _options(compression: str) -> str:
    # hive_partitioning off: a folder named like `split=train` would otherwise add a column of that name
    return f"compression = '{compression}', hive_partitioning = false"


def count_query(compression: str) -> str:
    """One scan, two tables: the label key's counts and the place key's."""
    return f"""
    select grouping(label) = 0 as is_label, {", ".join(LABEL_FIELDS)}, {", ".join(PLACE_FIELDS)}, performance, count(*)
    from (
        select *, attributes.performance as performance
        from read_json(
            ?, format = 'newline_delimited', records = true, {_options(compression)}, columns = {_COLUMNS_SQL}
        )
    )
    group by grouping sets (({", ".join(LABEL_FIELDS)}), ({", ".join(PLACE_FIELDS)}, performance))
    """


def presence_query(compression: str) -> str:
    """How many rows lack a field that may be null (DuckDB reads both as null)."""
    missing = " or ".join(f"json_type(json, '$.{name}') is null" for name in sorted(NULLABLE))
    return f"select count(*) from read_ndjson_objects(?, {_options(compression)}) where {missing}"


Decoded = tuple[Any, ...]


class NotExact(Exception):
    """The DuckDB counts cannot be shown equal to the Python scan's; count with that instead."""


def _decode(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _integer_or_none(value: Any) -> Any:
    if value is not None and type(value) is not int:
        raise NotExact
    return value


def _label_key(label: Any, techniques: Any, label_source: Any, velocity: Any) -> Decoded:
    raw = _decode(techniques)
    folded = tuple(raw) if type(raw) is list else raw or ()
    return (_decode(label), folded, _decode(label_source), _integer_or_none(_decode(velocity)))


def _place_key(session_id: Any, split: Any, item_id: Any, performance: Any) -> Decoded:
    value = _decode(performance)
    if type(value) is not str:
        _integer_or_none(value)
    return (_decode(session_id), _decode(split), _decode(item_id), value)


def _add(table: dict[Decoded, int], key: Decoded, n: int) -> None:
    table[key] = table.get(key, 0) + n


def counts_of_groups(groups: Iterable[tuple[Any, ...]]) -> tuple[EventCounts, bool]:
    """EventCounts from the query's rows, and whether a null `techniques` or `velocity` was seen.

    Raises NotExact for a key the Python scan would key or word differently."""
    counts = EventCounts()
    nullable_seen = False
    for is_label, label, techniques, label_source, velocity, session_id, split, item_id, performance, n in groups:
        if is_label:
            nullable_seen = nullable_seen or techniques is None or velocity is None
            _add(counts.labels, _label_key(label, techniques, label_source, velocity), n)
        else:
            _add(counts.places, _place_key(session_id, split, item_id, performance), n)
    for table in (counts.labels, counts.places):
        for rank, key in enumerate(sorted(table, key=repr), start=1):
            counts.first_line[key] = rank
    findings: list[DrumgateError] = []
    validate_counts(counts, findings.append)
    if findings:
        raise NotExact
    return counts, nullable_seen


def _starts_with_mark(source: Path) -> bool:
    try:
        with gzip.open(source, "rb") if is_gzip_path(source) else source.open("rb") as handle:
            return handle.read(len(BYTE_ORDER_MARK)) == BYTE_ORDER_MARK
    except (OSError, EOFError, zlib.error):
        return True  # unreadable or damaged: the Python scan words it


def _gzip_sound(source: Path) -> bool:
    """Whether the gzip stream inflates whole with its CRC and length right: DuckDB's reader does not
    check the trailer, so a stream with a bad CRC would be counted where the Python scan refuses it."""
    try:
        with gzip.open(source, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error):
        return False
    return True


def _identity(path: Path) -> StatKey | None:
    try:
        return stat_key(path.stat())
    except OSError:
        return None


class EarlyCount:
    """`counts_by_duckdb` of the file a command is about to count, started before the command's own
    start-up work (its imports, the configs, the group's lock, the page template), which then runs
    while DuckDB's threads count.

    DuckDB is imported on the calling thread before anything else: imported on a thread beside the
    command's imports, it shared the GIL with them and the query started 60-80 ms later. The count
    starts before the group's lock is held, so `usable_for` hands it over only for the same path
    whose stat (device, inode, size, mtime, ctime) has not changed since; otherwise the caller counts
    again under the lock. `stop` interrupts a count nobody will read (a command that stops early)."""

    def __init__(self, path: str | Path, workers: int | None = None) -> None:
        self.path = Path(os.path.abspath(os.path.expanduser(path)))
        self._identity = _identity(self.path)
        self._guard = threading.Lock()
        self._connection: Any = None
        self._stopped = False
        self._counts: EventCounts | None = None
        self._error: Exception | None = None
        with contextlib.suppress(ImportError):  # a broken install is worded by the count, on the command's thread
            importlib.import_module("duckdb")
        # not a daemon: an early exit interrupts the query (stop) and waits for it instead of tearing it down
        self._thread = threading.Thread(target=self._run, args=(workers,), name="early-count")
        self._thread.start()

    def _run(self, workers: int | None) -> None:
        try:
            self._counts = counts_by_duckdb(self.path, workers, before_each_query=self._going_on)
        except Exception as error:  # re-raised by `result` on the thread that reads it
            self._error = error

    def _going_on(self, connection: Any) -> None:
        with self._guard:
            if self._stopped:
                raise NotExact
            self._connection = connection

    @property
    def stopped(self) -> bool:
        return self._stopped

    def usable_for(self, path: Path) -> bool:
        """Whether this count is of `path` as it is now (call it holding the group's lock)."""
        return path == self.path and self._identity is not None and _identity(path) == self._identity

    def result(self) -> EventCounts | None:
        """`counts_by_duckdb`'s answer: the counts, or None when only the Python scan can give them."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._counts

    def stop(self) -> None:
        """End the count if it still runs; its result is not read. DuckDB drops an interrupt that comes
        between two statements, so it is repeated until the thread ends: no statement starts once
        `_stopped` is set, and one that started just before is interrupted by the next round."""
        with self._guard:
            self._stopped = True
        while self._thread.is_alive():
            with self._guard:
                connection = self._connection
            if connection is not None:
                import duckdb  # imported already: there is a connection

                with contextlib.suppress(duckdb.ConnectionException):  # the count closed it meanwhile
                    connection.interrupt()
            self._thread.join(STOP_POLL_S)


def counts_by_duckdb(
    path: str | Path, workers: int | None = None, before_each_query: Callable[[Any], None] | None = None
) -> EventCounts | None:
    """The EventCounts of a plain or gzip JSONL events file by DuckDB, or None when only the Python
    scan can give them exactly (see the module docstring). `workers` is DuckDB's thread count;
    `before_each_query` gets the connection before each statement (to interrupt it) and may raise
    NotExact to stop there."""
    source = Path(path).absolute()  # absolute: DuckDB would expand a leading `~`
    if GLOB_CHARACTERS.intersection(str(source)) or _starts_with_mark(source):
        return None
    if is_gzip_path(source) and not _gzip_sound(source):
        return None
    import duckdb  # heavy: only the command that counts loads it

    compression = "gzip" if is_gzip_path(source) else "none"
    connection = duckdb.connect(config={"threads": worker_count(workers)})
    def execute(query: str, *parameters: str) -> Any:
        if before_each_query is not None:
            before_each_query(connection)
        return connection.execute(query, list(parameters))

    try:
        execute("set enable_progress_bar = false")
        groups = execute(count_query(compression), str(source)).fetchall()
        counts, nullable_seen = counts_of_groups(groups)
        if nullable_seen:
            (missing,) = execute(presence_query(compression), str(source)).fetchone()
            if missing:
                return None
    except (duckdb.Error, NotExact, orjson.JSONDecodeError, TypeError):  # TypeError: an unhashable value
        return None
    finally:
        connection.close()
    return counts

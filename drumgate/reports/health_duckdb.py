"""Counting a plain or gzip events manifest with one DuckDB query, exact or not at all.

`counts_by_duckdb` reads the seven fields health keys on (and `attributes.performance`) with
DuckDB's `read_json` under a fixed schema (no sampling): one GROUPING SETS query gives the label
table and the place table, and each distinct key is decoded here into exactly the tuple
`health_counts.count_events` builds.

- The string fields (`label`, `label_source`, `session_id`, `split`, `item_id` and the items of
  `techniques`) are read as text. DuckDB writes a non-string read as text in its JSON spelling (`5`,
  `true`, `nan`, `{"a":1}`), so a text that could be such a spelling (`NON_STRING_TEXT`) is not
  trusted: the file is counted again with every field as DuckDB's JSON type, which keeps each value's
  JSON spelling for orjson to decode (a string spelled like a number costs that second query).
- `velocity` and `attributes.performance` are always read as JSON: an integer's type matters.

It returns None, and the caller runs the exact Python scan (which words every bad line as
`path:line`), whenever it cannot show the result equal to that scan's:

- DuckDB refuses the file: malformed JSON, invalid UTF-8, a line that is not an object, a
  duplicated field among those read, `attributes` that is not an object or null, `techniques` that
  is neither a list nor null, a damaged gzip (a gzip stream is first inflated whole here, since
  DuckDB does not check its CRC);
- a key `validate_counts` would reject (a missing or null required field, a wrong type, an unknown
  split or label source), or one whose value only equals others loosely (a float or boolean where
  an integer goes: 90.0 and true hash like 90 and 1, and the Python scan keeps whichever came first);
- the file starts with a byte-order mark (DuckDB skips it; orjson does not), or its path has a
  glob character (DuckDB would read the files the pattern matches);
- a null `techniques` or `velocity` (valid) unless a second query shows no row lacks the field
  (DuckDB reads a missing field as null too, and a missing one is a finding).

What DuckDB's parser accepts and orjson refuses, in fields health does not read or around a
line's object, is not looked for (finding it needs a second pass over every byte, which costs more
than the query): non-finite numbers (`NaN`, `inf`, `Infinity` in any case), trailing commas,
nesting deeper than 1023, numbers beyond a double, a vertical tab or form feed before or after the
object, and lines over `drumgate.io.lines.MAX_LINE_BYTES`. Such a file is counted here where the
Python scan would refuse it; the schema hook refuses it at commit.

Keys come without line numbers: `first_line` ranks them in the order the query returned them, which
DuckDB's threads may change from run to run. Nothing observes it: the ranks only order findings, and
every key passed `validate_counts` before the counts are returned, so none is ever worded from them
(an `order by all` to fix the order cost 17 ms of a 0.8 s query; sorting the keys here, 3 ms).

DuckDB is used through its engine module (`duckdb_engine`), and the connection is closed on a
thread of its own; `EarlyCount` starts the count before the command's own start-up work.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.io.lines import gzip_damage, is_gzip_path
from drumgate.io.statcache import StatKey, stat_key
from drumgate.reports.health_counts import EventCounts, validate_counts
from drumgate.workers import worker_count

BYTE_ORDER_MARK = b"\xef\xbb\xbf"
LABEL_FIELDS = ("label", "techniques", "label_source", "velocity")
PLACE_FIELDS = ("session_id", "split", "item_id")
# Every field as DuckDB's JSON type: each value keeps its JSON spelling, decoded here by orjson.
EXACT_COLUMNS = {name: "JSON" for name in (*LABEL_FIELDS, *PLACE_FIELDS)} | {"attributes": "STRUCT(performance JSON)"}
# The fields health keys as strings read as text: DuckDB hands a string's value over without writing it
# out as JSON again and again (7% of the query's CPU), and a non-string's JSON text ('5', 'true',
# '{"a":1}'), which `_text` tells apart from every value it could be mistaken for.
TEXT_COLUMNS = EXACT_COLUMNS | {name: "VARCHAR" for name in ("label", "label_source", *PLACE_FIELDS)} | {
    "techniques": "VARCHAR[]"}
# A null here is valid in the Python scan only when the field is present.
NULLABLE = frozenset({"techniques", "velocity"})

# DuckDB reads its path argument as a glob: a name with these could stand for other files too
GLOB_CHARACTERS = frozenset("*?[]{}")
STOP_POLL_S = 0.02
# What DuckDB writes for a non-string read as text: a JSON number (as spelled, or as a double: 1E5 is
# `100000.0`), a literal, a non-finite number as spelled (`nan`, `-Infinity`), an object or an array.
NON_STRING_TEXT = re.compile(
    r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null|[+-]?(?ai:nan|inf|infinity)|[\[{].*",
    re.DOTALL,
)
NON_STRING_FIRST = frozenset("-+0123456789tfnNiI[{")  # what NON_STRING_TEXT's matches start with


def _columns_sql(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def _options(compression: str) -> str:
    # hive_partitioning off: a folder named like `split=train` would otherwise add a column of that name
    return f"compression = '{compression}', hive_partitioning = false"


def count_query(compression: str, columns: dict[str, str] = TEXT_COLUMNS) -> str:
    """One scan, two tables: the label key's counts and the place key's."""
    return f"""
    select grouping(label) = 0 as is_label, {", ".join(LABEL_FIELDS)}, {", ".join(PLACE_FIELDS)}, performance, count(*)
    from (
        select *, attributes.performance as performance
        from read_json(
            ?, format = 'newline_delimited', records = true, {_options(compression)}, columns = {_columns_sql(columns)}
        )
    )
    group by grouping sets (({", ".join(LABEL_FIELDS)}), ({", ".join(PLACE_FIELDS)}, performance))
    """


def presence_query(compression: str) -> str:
    """How many rows lack a field that may be null (DuckDB reads both as null)."""
    missing = " or ".join(f"json_type(json, '$.{name}') is null" for name in sorted(NULLABLE))
    return f"select count(*) from read_ndjson_objects(?, {_options(compression)}) where {missing}"


class NotExact(Exception):
    """The DuckDB counts cannot be shown equal to the Python scan's; count with that instead."""


class NotText(NotExact):
    """A field read as text may have held a non-string: count again with every field as JSON."""


def _decode(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _text(value: str | None) -> str | None:
    """A string field read as text, or NotText when the text could be a non-string's JSON spelling (a
    string spelled like one, `"5"` or `"true"`, is counted by the exact query instead)."""
    if value and value[0] in NON_STRING_FIRST and NON_STRING_TEXT.fullmatch(value):
        raise NotText
    return value


def _text_tuple(values: tuple[str | None, ...] | None) -> tuple[str | None, ...]:
    return () if values is None else tuple(_text(value) for value in values)


def _integer_or_none(value: Any) -> Any:
    if value is not None and type(value) is not int:
        raise NotExact
    return value


def _velocity(text: str | None) -> Any:
    return _integer_or_none(_decode(text))


def _performance(text: str | None) -> Any:
    value = _decode(text)
    return value if type(value) is str else _integer_or_none(value)


def _exact_techniques(text: str | None) -> Any:
    raw = _decode(text)
    return tuple(raw) if type(raw) is list else raw or ()


class _Decoded(dict[Any, Any]):
    """Each distinct value of the query decoded once: the groups repeat them (a split, a label, the id
    of a session with several items), and decoding each group's anew took half the time here."""

    def __init__(self, decode: Callable[[Any], Any]) -> None:
        super().__init__()
        self._decode = decode

    def __missing__(self, raw: Any) -> Any:
        value = self[raw] = self._decode(raw)
        return value


def counts_of_groups(groups: Iterable[tuple[Any, ...]], as_text: bool = True) -> tuple[EventCounts, bool]:
    """EventCounts from the query's rows (`as_text`: of the query with TEXT_COLUMNS, else of the one with
    EXACT_COLUMNS), and whether a null `techniques` or `velocity` was seen.

    Raises NotExact for a key the Python scan would key or word differently, NotText for text that may
    have been a non-string."""
    counts = EventCounts()
    labels, places = counts.labels, counts.places
    field = _Decoded(_text if as_text else _decode)
    techniques_of = _Decoded(_text_tuple if as_text else _exact_techniques)
    velocity_of, performance_of = _Decoded(_velocity), _Decoded(_performance)
    nullable_seen = False
    for is_label, label, techniques, label_source, velocity, session_id, split, item_id, performance, n in groups:
        if is_label:
            nullable_seen = nullable_seen or techniques is None or velocity is None
            if as_text and techniques is not None:
                techniques = tuple(techniques)  # DuckDB's list: a key once a tuple
            key = (field[label], techniques_of[techniques], field[label_source], velocity_of[velocity])
            labels[key] = labels.get(key, 0) + n
        else:
            key = (field[session_id], field[split], field[item_id], performance_of[performance])
            places[key] = places.get(key, 0) + n
    for table in (labels, places):
        counts.first_line.update((key, rank) for rank, key in enumerate(table, start=1))
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


def duckdb_engine() -> ModuleType:
    """DuckDB's engine: `_duckdb`, the C++ extension the `duckdb` package re-exports (connect, the
    connection, the exception types; its stubs ship with the package), or the package itself where the
    extension has another name (older releases). Imported alone it takes 12 ms of one core; the
    package's Python layer (the relational and expression API, a version lookup through
    importlib.metadata) adds 70-90 ms, all of it before the count could start and none of it used here.
    Raises ImportError when DuckDB is not installed."""
    try:
        engine = importlib.import_module("_duckdb")
    except ImportError:
        return importlib.import_module("duckdb")
    return engine if hasattr(engine, "connect") else importlib.import_module("duckdb")


def _identity(path: Path) -> StatKey | None:
    try:
        return stat_key(path.stat())
    except OSError:
        return None


class EarlyCount:
    """`counts_by_duckdb` of the file a command is about to count, started before the command's own
    start-up work (its imports, the configs, the group's lock, the page template), which then runs
    while DuckDB's threads count.

    DuckDB's engine (`duckdb_engine`) is imported on the calling thread before anything else:
    imported on a thread beside the command's imports, it shared the GIL with them and the query
    started 60-80 ms later. The count
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
            duckdb_engine()
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
                with contextlib.suppress(duckdb_engine().ConnectionException):  # the count closed it meanwhile
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
    if is_gzip_path(source) and gzip_damage(source) is not None:  # DuckDB does not check the CRC
        return None
    duckdb = duckdb_engine()  # heavy: only the command that counts loads it
    compression = "gzip" if is_gzip_path(source) else "none"
    connection = duckdb.connect(config={"threads": worker_count(workers)})
    def execute(query: str, *parameters: str) -> Any:
        if before_each_query is not None:
            before_each_query(connection)
        return connection.execute(query, list(parameters))

    try:
        execute("set enable_progress_bar = false")
        try:
            groups = execute(count_query(compression), str(source)).fetchall()
            counts, nullable_seen = counts_of_groups(groups)
        except NotText:
            groups = execute(count_query(compression, EXACT_COLUMNS), str(source)).fetchall()
            counts, nullable_seen = counts_of_groups(groups, as_text=False)
        if nullable_seen:
            (missing,) = execute(presence_query(compression), str(source)).fetchone()
            if missing:
                return None
    except (duckdb.Error, NotExact, orjson.JSONDecodeError, TypeError):  # TypeError: an unhashable value
        return None
    finally:
        # DuckDB frees the query's memory on close (8-10 ms after a 2 M-row count) without the GIL: on a
        # thread of its own that runs beside the report instead of before it (not a daemon: exit waits)
        threading.Thread(target=connection.close, name="duckdb-close").start()
    return counts

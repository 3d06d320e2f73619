"""`drumgate health` starts DuckDB's count of a file before its own start-up work (issue 18).

`health_duckdb.EarlyCount` counts the file the command was given while the command imports, reads
its configs and takes the group's lock. Its counts are used only for the file as it is once the lock
is held: a file replaced in between is counted again. A command that stops early interrupts the
count, and an error inside the count is raised where the counts are read, not lost on its thread.
"""

from __future__ import annotations

import gzip
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.health_events import event_rows
from drumgate.io.jsonio import dumps_row, read_json
from drumgate.lineage import grouplock
from drumgate.reports import health_duckdb
from drumgate.reports.health_duckdb import EarlyCount, counts_by_duckdb
from drumgate.reports.health_files import HealthRequest, write_health
from drumgate.workspace import Workspace


def _events(path: Path, rows: int, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(dumps_row(row) + b"\n" for row in event_rows(rows, sessions=20, seed=seed)))
    return path


def _request(events: Path) -> HealthRequest:
    return HealthRequest(events=events, date="2024-05-01")


def test_the_early_count_equals_the_count_made_under_the_lock(workspace: Workspace) -> None:
    events = _events(workspace.events_manifest("egmd"), 900, seed=1)
    early = EarlyCount(events)
    assert early.usable_for(events)
    early_counts, counts = early.result(), counts_by_duckdb(events)
    assert early_counts is not None and counts is not None
    # first_line ranks follow the order DuckDB's threads return keys in, which may differ run to run
    # (they only order findings, and DuckDB's keys have none): the counts and the keys must agree
    assert (early_counts.labels, early_counts.places) == (counts.labels, counts.places)
    assert early_counts.first_line.keys() == counts.first_line.keys()
    assert not early.usable_for(events.with_name("other_events.jsonl"))


def test_a_file_replaced_after_the_count_started_is_counted_again(workspace: Workspace) -> None:
    events = _events(workspace.events_manifest("egmd"), 900, seed=1)
    early = EarlyCount(events)
    early.result()
    replacement = _events(events.with_name("next.jsonl"), 300, seed=2)
    os.replace(replacement, events)  # what an ingest's atomic write does while health waits for the lock
    assert not early.usable_for(events)
    with grouplock.command_scope("drumgate health"):
        outcome = write_health(workspace, _request(events), early)
    assert outcome.report is not None and outcome.report["totals"]["events"] == 300
    assert read_json(outcome.plan.output)["totals"]["events"] == 300


def test_stop_interrupts_a_count_nobody_reads(tmp_path: Path) -> None:
    events = _events(tmp_path / "egmd_events.jsonl", 200_000, seed=3)
    early = EarlyCount(events)
    early.stop()
    assert early.result() is None  # interrupted (or never connected): the caller would count again


def test_an_error_in_the_count_is_raised_where_the_counts_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise ImportError("No module named 'duckdb'", name="duckdb")

    monkeypatch.setattr(health_duckdb, "counts_by_duckdb", broken)
    early = EarlyCount(_events(tmp_path / "egmd_events.jsonl", 10, seed=4))
    with pytest.raises(ImportError):
        early.result()


def test_the_command_starts_it_only_for_a_file_it_will_count(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drumgate.cli import health as health_cmd

    started: list[Path] = []

    class Recorded(EarlyCount):
        def __init__(self, path: str | Path, workers: int | None = None) -> None:
            started.append(Path(path))
            super().__init__(path, workers)

    monkeypatch.setattr(health_duckdb, "EarlyCount", Recorded)
    events = _events(workspace.events_manifest("egmd"), 900, seed=1)
    assert health_cmd.main(["--events", str(events), "--date", "2024-05-01"]) in (0, 1)
    assert started == [events]
    assert health_cmd.main(["--events", str(events.with_name("other_events.jsonl")), "--date", "2024-05-01"]) == 2
    assert started == [events]  # a missing file is worded by the reader; nothing to count
    assert health_cmd.main(["--events", str(events), "--dataset", "nope", "--date", "2024-05-01"]) == 2
    assert started == [events, events]  # started, then stopped when the command failed


def test_stop_after_the_count_closed_its_connection_is_quiet(tmp_path: Path) -> None:
    early = EarlyCount(_events(tmp_path / "egmd_events.jsonl", 50, seed=5))
    early.result()
    early._thread = _Closing()  # as if stop came while the thread was still closing the connection
    early.stop()


class _Closing:
    """A count thread seen alive once more, after its connection was closed."""

    def __init__(self) -> None:
        self.rounds = 1

    def is_alive(self) -> bool:
        self.rounds -= 1
        return self.rounds >= 0

    def join(self, timeout: float | None = None) -> None:
        return


def test_a_stop_between_two_statements_still_ends_the_count(tmp_path: Path) -> None:
    """DuckDB drops an interrupt that comes while no statement runs: here the stop lands after the
    count query was cleared to start and before it started, so only a repeated interrupt ends it."""
    events = _events(tmp_path / "egmd_events.jsonl", 300_000, seed=6)
    reached, proceed = threading.Event(), threading.Event()
    calls: list[int] = []

    class Paused(EarlyCount):
        def _going_on(self, connection: Any) -> None:
            super()._going_on(connection)
            calls.append(1)
            if len(calls) == 2:  # the count query is next, and was cleared to start
                reached.set()
                proceed.wait()

    early = Paused(events)
    assert reached.wait(30)
    stopper = threading.Thread(target=early.stop)
    stopper.start()
    while not early._stopped:
        time.sleep(0.001)
    proceed.set()
    stopper.join()
    assert early.result() is None, "the count query ran to its end after stop"


def test_the_command_does_not_start_it_for_a_gzip_file(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from drumgate.cli import health as health_cmd

    started: list[Path] = []
    monkeypatch.setattr(health_duckdb, "EarlyCount", lambda path, workers=None: started.append(Path(path)))
    plain = _events(workspace.events_manifest("egmd"), 200, seed=7)
    packed = plain.with_name("egmd_events.jsonl.gz")
    packed.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    plain.unlink()
    assert health_cmd.main(["--events", str(packed), "--date", "2024-05-01"]) in (0, 1)
    assert started == []  # its soundness check inflates the whole stream, which stop cannot cut short


def recorded_counts(monkeypatch: pytest.MonkeyPatch) -> tuple[list[EarlyCount], list[Path]]:
    """The early counts the command starts and the files it counts under the lock, recorded as they happen."""
    from drumgate.reports import health_files

    started: list[EarlyCount] = []

    class Recorded(EarlyCount):
        def __init__(self, path: str | Path, workers: int | None = None) -> None:
            super().__init__(path, workers)
            started.append(self)

    counted: list[Path] = []
    monkeypatch.setattr(health_duckdb, "EarlyCount", Recorded)
    monkeypatch.setattr(health_files, "_counted", lambda events, *_: counted.append(events))
    return started, counted


@pytest.mark.parametrize("mistake", [["--sessions", "nope.jsonl"], ["--require-class", "bogus"],
                                     ["--vocabulary", "nope"], ["--require-class", "kick=x"]])
def test_a_mistake_in_the_request_stops_the_count_before_it_is_waited_for(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, mistake: list[str]
) -> None:
    from drumgate.cli import health as health_cmd

    started, counted = recorded_counts(monkeypatch)
    events = _events(workspace.events_manifest("egmd"), 900, seed=1)
    assert health_cmd.main(["--events", str(events), "--date", "2024-05-01", *mistake]) == 2
    assert [early.stopped for early in started] == [True]
    assert counted == [], "worded before the counting starts"


def test_a_failure_while_the_count_runs_stops_it(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from drumgate.reports import health_files

    def failing(*_: Any) -> None:
        raise DrumgateError("cannot read", path="data/manifests/egmd_sessions.jsonl")

    monkeypatch.setattr(health_files, "_write_health", failing)
    events = _events(workspace.events_manifest("egmd"), 900, seed=1)
    early = EarlyCount(events)
    with grouplock.command_scope("drumgate health"), pytest.raises(DrumgateError):
        write_health(workspace, _request(events), early)
    assert early.stopped

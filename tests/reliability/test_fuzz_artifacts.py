"""Fuzz the committed documents drumgate reads back (issue 13, item 11): health reports, lineage
locks, shard sidecars and sessions manifests, 5,000 runs in all. Each run takes a sound document,
changes one to three of its values (another type, a removed key, a huge number, deep nesting, a
lone surrogate...) and hands the result to the in-process entry point that reads it and uses it.
No run may end in an internal error (exit 3) or a traceback: bad input is exit 1 or 2, one line.
Hypothesis is derandomized, so every run of the suite tries the same inputs."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumgate import cli, lineage
from drumgate.cli import guarded
from drumgate.errors import EXIT_INTERNAL
from drumgate.fixtures.health_events import event_rows, session_rows
from drumgate.io.jsonio import read_json, write_jsonl
from drumgate.reports.health_sessions import read_session_facts, storage_summary
from drumgate.reports.report_io import ErrorCollector
from drumgate.reports.report_io import session_rows as checked_session_rows
from drumgate.workspace import Workspace
from tests.reliability.support import DATE, TRACEBACK, make_workspace

RUNS_PER_KIND = 1250  # four kinds: 5,000 runs
EVENTS = "data/manifests/egmd_events.jsonl"
SESSIONS = "data/manifests/egmd_sessions.jsonl"
BASE_REPORT = "reports/health/egmd_20260110.json"
FUZZED_REPORT = "reports/health/egmd_20260115.json"
LOCK = "data/locks/egmd.lock.json"
SHARD = "data/manifests/egmd_events.shard-{}-of-2.jsonl"
FUZZ_SETTINGS = settings(
    max_examples=RUNS_PER_KIND,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

Path_ = tuple[Any, ...]

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["", "egmd", "train", "../../x.jsonl", "/etc/passwd.jsonl", "a" * 300, "\u202e", "\ud800"])
)
json_values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def all_paths(value: Any, here: Path_ = ()) -> Iterator[Path_]:
    """Every place in a JSON value, outermost first (the empty path is the whole document)."""
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from all_paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from all_paths(item, (*here, index))


def change(document: Any, path: Path_, new: Any, delete: bool) -> Any:
    if not path:
        return new
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return document


@st.composite
def mutations(draw: st.DrawFn, sound: Any) -> bytes:
    """The sound document's JSON text after one to three random changes, or a hostile whole text."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([b"[" * 50_000, b'{"a": "\\udc80"}', b"", b"\xff\xfe", b"null", b"1e999"]))
    document = copy.deepcopy(sound)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(all_paths(document))))
        delete = bool(path) and draw(st.booleans()) and draw(st.booleans())
        document = change(document, path, None if delete else draw(json_values), delete)
    return json.dumps(document).encode()


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def outcome(action: Callable[[], int]) -> tuple[int, str]:
    """Exit code and everything printed, through the one top-level handler every command uses."""
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(printed):
        code = guarded(action)
    return code, printed.getvalue()


def assert_handled(code: int, printed: str, text: bytes) -> None:
    assert code != EXIT_INTERNAL and TRACEBACK not in printed, f"exit {code} on {text[:300]!r}\n{printed[-2000:]}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Events, sessions, two health reports and their lock, and two shards with sidecars."""
    root = make_workspace(tmp_path_factory.mktemp("fuzz") / "ws")
    rows = list(event_rows(60, sessions=4, items_per_session=2))
    write_jsonl(root / EVENTS, rows)
    write_jsonl(root / SESSIONS, session_rows(4, items_per_session=2))
    with inside(root):
        for date in ("2026-01-10", DATE):
            assert cli.main(["health", "--events", EVENTS, "--date", date, "--workspace", str(root)]) in (0, 1)
    for index, part in ((1, rows[:30]), (2, rows[30:])):
        write_jsonl(root / SHARD.format(index), part)
        sidecar = {
            "kind": "drumgate-shard", "shard": index, "shards": 2, "group": "egmd", "target": EVENTS,
            "argv": ["ingest", "egmd", "--date", DATE], "inputs": ["configs/datasets.toml"],
            "external_inputs": {"egmd_root": "sha256:" + "0" * 64},
        }
        (root / (SHARD.format(index) + ".shard.json")).write_text(json.dumps(sidecar))
    return root


def sound(root: Path, relative: str) -> Any:
    return read_json(root / relative)


def fuzz_document(root: Path, relative: str, text: bytes, action: Callable[[], int]) -> None:
    target = root / relative
    original = target.read_bytes()
    target.write_bytes(text)
    try:
        with inside(root):
            code, printed = outcome(action)
    finally:
        target.write_bytes(original)
    assert_handled(code, printed, text)


def test_fuzzed_health_reports_never_end_in_an_internal_error(workspace: Path) -> None:
    argv = ["compare", BASE_REPORT, FUZZED_REPORT, "--workspace", str(workspace)]

    @FUZZ_SETTINGS
    @given(text=mutations(sound(workspace, FUZZED_REPORT)))
    def run(text: bytes) -> None:
        fuzz_document(workspace, FUZZED_REPORT, text, lambda: cli.main(argv))

    run()


def test_fuzzed_locks_never_end_in_an_internal_error(workspace: Path) -> None:
    ws = Workspace(workspace)

    def read_and_extend() -> int:
        lineage.check(ws, "egmd")
        lineage.record(ws, "egmd", ws.path(EVENTS), ["health", "--events", EVENTS])
        return 0

    @FUZZ_SETTINGS
    @given(text=mutations(sound(workspace, LOCK)))
    def run(text: bytes) -> None:
        fuzz_document(workspace, LOCK, text, read_and_extend)

    run()


def test_fuzzed_shard_sidecars_never_end_in_an_internal_error(workspace: Path) -> None:
    sidecar = SHARD.format(2) + ".shard.json"
    argv = ["merge", SHARD.format(1), SHARD.format(2), "--no-lineage", "--workspace", str(workspace)]
    events = (workspace / EVENTS).read_bytes()

    @FUZZ_SETTINGS
    @given(text=mutations(sound(workspace, sidecar)))
    def run(text: bytes) -> None:
        try:
            fuzz_document(workspace, sidecar, text, lambda: cli.main(argv))
        finally:
            (workspace / EVENTS).write_bytes(events)
        assert not (workspace.parent / "x.jsonl").exists()

    run()


def test_fuzzed_sessions_manifests_never_end_in_an_internal_error(workspace: Path) -> None:
    lines = (workspace / SESSIONS).read_bytes().splitlines()
    path = workspace / SESSIONS

    def read_and_summarise() -> int:
        errors = ErrorCollector(path)
        storage_summary(read_session_facts(checked_session_rows(path, errors)))
        return 2 if errors.errors else 0

    @FUZZ_SETTINGS
    @given(index=st.integers(0, len(lines) - 1), text=mutations(json.loads(lines[0])))
    def run(index: int, text: bytes) -> None:
        changed = [*lines[:index], text, *lines[index + 1:]]
        fuzz_document(workspace, SESSIONS, b"\n".join(changed) + b"\n", read_and_summarise)

    run()

"""Concurrent commands on one artifact group (issue 13, item 8): the group lock is held for the
whole command, so a lock entry always names the inputs that made its artifact, and a health JSON
and its HTML page always come from one run.

Each trial starts, at once, as real processes: an E-GMD ingest (alternating between a 4- and a
2-performance corpus, so the events manifest changes under the readers) and two `drumgate
health` runs writing the same report with different extra gates (so their outputs differ).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from drumgate.fixtures.egmd import make_egmd_corpus
from tests.reliability.support import (
    DATE,
    TRACEBACK,
    Run,
    child_env,
    drumgate_command,
    make_workspace,
    run_drumgate,
    sha256_of,
    tree_digest,
)

TRIALS = 30
EVENTS = "data/manifests/egmd_events.jsonl"
SESSIONS = "data/manifests/egmd_sessions.jsonl"
REPORT = f"reports/health/egmd_{DATE.replace('-', '')}.json"
PAGE = REPORT.removesuffix(".json") + ".html"
LOCK = "data/locks/egmd.lock.json"
GUARD = "data/locks/.egmd.lck"
EXTRA_GATES = ("kick=1001", "snare=999999")  # above the configured minimums: a gate only rises
WAIT_FOR_EACH_OTHER = {"DRUMGATE_LOCK_WAIT": "600"}


@dataclass(frozen=True)
class Scene:
    workspace: Path
    roots: tuple[Path, Path]
    events_rows: dict[str, int]  # sha256 of an events manifest one root makes -> its rows
    sessions_of_events: dict[str, str]  # that sha256 -> the sha256 of the sessions manifest made with it


def ingest_argv(root: Path) -> list[str]:
    return ["ingest", "egmd", "--root", str(root), "--date", DATE]


def health_argv(extra_gate: str) -> list[str]:
    return ["health", "--events", EVENTS, "--date", DATE, "--require-class", extra_gate]


def rows_in(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    base = tmp_path_factory.mktemp("grouplock")
    workspace = make_workspace(base / "ws")
    roots = (base / "egmd-4-performances", base / "egmd-2-performances")
    make_egmd_corpus(roots[0], seed=1, performances=4, audio=False)
    make_egmd_corpus(roots[1], seed=2, performances=2, audio=False)
    events_rows, sessions_of_events = {}, {}
    for root in roots:
        run = run_drumgate(ingest_argv(root), cwd=workspace)
        assert run.code == 0, run.describe()
        digest = sha256_of(workspace / EVENTS)
        events_rows[digest] = rows_in(workspace / EVENTS)
        sessions_of_events[digest] = sha256_of(workspace / SESSIONS)
    assert len(set(events_rows.values())) == 2, "the two corpora must make different manifests"
    return Scene(workspace, roots, events_rows, sessions_of_events)


def run_together(argvs: Sequence[Sequence[str]], workspace: Path, env: dict[str, str]) -> list[Run]:
    processes = [
        subprocess.Popen(drumgate_command(argv), cwd=workspace, env=child_env(env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors="replace")
        for argv in argvs
    ]
    runs = []
    for argv, process in zip(argvs, processes, strict=True):
        stdout, stderr = process.communicate(timeout=600)
        runs.append(Run(tuple(argv), process.returncode, stdout, stderr))
    return runs


def assert_lineage_matches_content(scene: Scene, context: str) -> None:
    from drumgate.render.html_report import render_health_html

    workspace = scene.workspace
    entries = json.loads((workspace / LOCK).read_text(encoding="utf-8"))["artifacts"]
    for artifact, entry in entries.items():
        assert entry["sha256"] == sha256_of(workspace / artifact), f"{context}: lock entry of {artifact} is stale"
    events = entries[EVENTS]["sha256"]
    assert entries[SESSIONS]["sha256"] == scene.sessions_of_events[events], f"{context}: manifests from two ingests"
    assert entries[SESSIONS]["command"] == entries[EVENTS]["command"], context
    report = json.loads((workspace / REPORT).read_text(encoding="utf-8"))
    recorded_input = entries[REPORT]["inputs"][EVENTS]
    assert report["totals"]["events"] == scene.events_rows[recorded_input], (
        f"{context}: the lock says the report was made from another events manifest than the one it counts"
    )
    assert entries[PAGE]["inputs"] == entries[REPORT]["inputs"], context
    assert entries[PAGE]["command"] == entries[REPORT]["command"], f"{context}: JSON and HTML from two runs"
    assert (workspace / PAGE).read_text(encoding="utf-8") == render_health_html(report, date=DATE), (
        f"{context}: the HTML page is not the rendering of the JSON beside it"
    )
    extra_gate = entries[REPORT]["command"].split("--require-class ")[1].split()[0]
    name, threshold = extra_gate.split("=")
    gate = next(g for g in report["gates"] if g["name"] == f"min_class_events[{name}]")
    assert gate["threshold"] == int(threshold), f"{context}: the recorded command did not make this report"


def test_concurrent_ingest_and_health_runs_record_only_what_made_each_artifact(scene: Scene) -> None:
    for trial in range(TRIALS):
        argvs = [ingest_argv(scene.roots[trial % 2]), *(health_argv(gate) for gate in EXTRA_GATES)]
        rotation = trial % len(argvs)  # vary which command starts first
        argvs = argvs[rotation:] + argvs[:rotation]
        for run in run_together(argvs, scene.workspace, WAIT_FOR_EACH_OTHER):
            assert run.code in (0, 1), run.describe()
            assert TRACEBACK not in run.stderr, run.describe()
        assert_lineage_matches_content(scene, f"trial {trial + 1}/{TRIALS}")


@contextlib.contextmanager
def held_guard(workspace: Path, holder: str) -> Iterator[None]:
    """Hold the egmd group lock from this process, as another drumgate command would."""
    with open(workspace / GUARD, "a+", encoding="utf-8") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        guard.seek(0)
        guard.truncate()
        guard.write(holder)
        guard.flush()
        try:
            yield
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def guard_is_free(workspace: Path) -> bool:
    with open(workspace / GUARD, "a+", encoding="utf-8") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True


def test_a_busy_group_is_refused_in_one_line_and_nothing_is_written(scene: Scene) -> None:
    before = tree_digest(scene.workspace)
    with held_guard(scene.workspace, "pid 4242: drumgate ingest egmd (the other run)"):
        runs = [run_drumgate(argv, cwd=scene.workspace, env={"DRUMGATE_LOCK_WAIT": "0"})
                for argv in (health_argv("kick=1003"), ingest_argv(scene.roots[0]))]
    for run in runs:
        assert run.code == 2, run.describe()
        lines = run.stderr.splitlines()
        assert len(lines) == 1, run.describe()
        assert lines[0].startswith(f"{GUARD}: "), run.describe()
        assert "pid 4242: drumgate ingest egmd (the other run)" in lines[0], run.describe()
        assert "DRUMGATE_LOCK_WAIT" in lines[0], run.describe()
    assert tree_digest(scene.workspace) == before


def test_the_second_run_waits_with_a_message_then_writes_once_the_first_is_done(scene: Scene) -> None:
    with held_guard(scene.workspace, "pid 4243: drumgate health (the first run)"):
        before = tree_digest(scene.workspace)
        process = subprocess.Popen(
            drumgate_command(health_argv("kick=1005")), cwd=scene.workspace, env=child_env(WAIT_FOR_EACH_OTHER),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
        )
        assert process.stderr is not None
        message = process.stderr.readline()
        assert "waiting" in message and "egmd group lock" in message and "pid 4243" in message, message
        assert process.poll() is None
        assert tree_digest(scene.workspace) == before, "the waiting run wrote before it had the lock"
    _, rest = process.communicate(timeout=600)
    assert process.returncode in (0, 1), message + rest
    assert TRACEBACK not in rest
    assert_lineage_matches_content(scene, "after the wait")
    entries = json.loads((scene.workspace / LOCK).read_text(encoding="utf-8"))["artifacts"]
    assert "--require-class kick=1005" in entries[REPORT]["command"], "the waiting run's report is not the one kept"
    assert guard_is_free(scene.workspace)


def test_a_command_inside_another_reuses_its_lock_and_releases_only_its_own(scene: Scene) -> None:
    """The demo runs its stages in-process: a nested command must not block on its caller's lock."""
    from drumgate import cli
    from drumgate.lineage import grouplock
    from drumgate.workspace import find_workspace

    workspace = find_workspace(scene.workspace)
    argv = [*health_argv("kick=1007"), "--workspace", str(scene.workspace)]
    argv[argv.index(EVENTS)] = str(scene.workspace / EVENTS)
    with grouplock.command_scope("outer command"):
        grouplock.hold(workspace, ["egmd"])
        assert cli.main(argv) in (0, 1)
        assert not guard_is_free(scene.workspace), "the nested command released its caller's lock"
        assert cli.main(["weights", "--events", str(scene.workspace / EVENTS), "--scheme", "inverse",
                         "--date", DATE, "--workspace", str(scene.workspace)]) == 0
    assert guard_is_free(scene.workspace)
    assert_lineage_matches_content(scene, "after the nested commands")

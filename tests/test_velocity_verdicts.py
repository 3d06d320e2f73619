"""One verdict on a velocity, from the schema hook and from health, in a single file and in parts.

The project writes velocities as integers. JSON Schema takes 90.0 for the integer 90 (a number, not
its spelling), so the events schema alone accepted a row that health refuses (its counts are keyed
on the exact type: 90.0 would hash as 90). The hook now judges the velocity by health's own rule
(`drumgate.schemas.EXACT_FIELDS`), so a hand-edited 90.0, like `true`, is refused by both at the
same line, whether the manifest is one file or a partitioned folder; 90 and null pass both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checks import check_schema
from drumgate import cli
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.io.jsonio import dumps_row
from drumgate.reports.health_duckdb import counts_by_duckdb
from drumgate.reports.health_scan import count_events_file
from drumgate.schemas import validator_for
from drumgate.workspace import PACKAGE_ROOT, Workspace
from tests.hooks_support import event, make_workspace, run_hook

BAD_LINE = 3
FOLDER = "data/manifests/egmd_events"
REFUSED = {"float": 90.0, "true": True}
ACCEPTED = {"integer": 90, "null": None}


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    workspace = make_workspace(tmp_path / "ws")
    monkeypatch.chdir(workspace.root)
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    return workspace


def _rows(velocity: Any) -> list[dict[str, Any]]:
    rows = [event(index) for index in range(6)]
    rows[BAD_LINE - 1]["velocity"] = velocity
    return rows


def _manifest(ws: Workspace, layout: str, velocity: Any) -> tuple[str, list[str]]:
    """The events written as one file or as a folder of one part: (what health is given, the files the
    hook is given, the row's own file first)."""
    rows = _rows(velocity)
    if layout == "file":
        path = ws.events_manifest("egmd")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(dumps_row(row) + b"\n" for row in rows))
        return ws.rel(path), [ws.rel(path)]
    folder = ws.root / FOLDER
    parts.write_parts(folder, "events", "egmd", "session_id", [parts.PartInput("s1", rows)])
    part = parts.read_index(folder)["parts"][0]["file"]
    return FOLDER, [f"{FOLDER}/{part}", f"{FOLDER}/{parts.INDEX_NAME}"]


def _verdicts(ws: Workspace, layout: str, velocity: Any, tmp_path: Path,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], int, list[str], str]:
    """(hook exit, hook lines about the bad line, health exit, health lines about it, the row's file)."""
    events, files = _manifest(ws, layout, velocity)
    capsys.readouterr()
    hook_code = run_hook(check_schema, files)
    hook_err = capsys.readouterr().err.splitlines()
    health_code = cli.main(["health", "--events", events, "--output", str(tmp_path / "health.json")])
    health_err = capsys.readouterr().err.splitlines()
    at = f"{files[0]}:{BAD_LINE}: "
    return (hook_code, [line for line in hook_err if line.startswith(at)], health_code,
            [line for line in health_err if line.startswith(at)], files[0])


@pytest.mark.parametrize("layout", ["file", "parts"])
@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_a_float_or_boolean_velocity_is_refused_by_the_hook_and_by_health(
        ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str, kind: str) -> None:
    velocity = REFUSED[kind]
    hook_code, hook_lines, health_code, health_lines, where = _verdicts(ws, layout, velocity, tmp_path, capsys)
    assert hook_code == 1 and len(hook_lines) == 1, hook_lines
    assert hook_lines[0].startswith(f"{where}:{BAD_LINE}: $.velocity: ")
    said = f"velocity must be an integer 0-127 or null, got {velocity!r}"
    assert health_code == 2 and len(health_lines) == 1 and said in health_lines[0], health_lines
    assert not (tmp_path / "health.json").exists(), "nothing written"
    if kind == "float":  # the hook words it as health does (JSON Schema has no word for it)
        assert said in hook_lines[0]


@pytest.mark.parametrize("layout", ["file", "parts"])
@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_an_integer_or_null_velocity_passes_both(
        ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str, kind: str) -> None:
    hook_code, hook_lines, health_code, health_lines, _ = _verdicts(ws, layout, ACCEPTED[kind], tmp_path, capsys)
    assert (hook_code, hook_lines, health_lines) == (0, [], [])
    assert health_code in (0, 1) and (tmp_path / "health.json").is_file()  # 1: the tiny manifest fails gates


@pytest.mark.parametrize("velocity", [90.0, True, 90.5, -1.0, 128.0, 300, "90"])
def test_every_velocity_health_refuses_the_events_validator_refuses(velocity: Any) -> None:
    """Both validator tiers and the batch call: a row health would refuse never passes the hook."""
    validator = validator_for(Workspace(PACKAGE_ROOT), "events")
    row = event(0, velocity=velocity)
    good = [event(index) for index in range(1, 70)]
    assert not validator.fast_accepts(row)
    assert [issue.json_path for issue in validator.reference_issues(row)] == ["$.velocity"]
    assert not validator.all_accepted([*good, row]) and validator.all_accepted(good)


@pytest.mark.parametrize("velocity", sorted(REFUSED.values(), key=repr))
def test_duckdb_steps_aside_for_a_float_or_boolean_velocity(tmp_path: Path, velocity: Any) -> None:
    """The DuckDB path never counts such a file: the exact scan words the row, as for the folder."""
    path = tmp_path / "egmd_events.jsonl"
    path.write_bytes(b"".join(dumps_row(row) + b"\n" for row in _rows(velocity)))
    assert counts_by_duckdb(path) is None
    errors: list[DrumgateError] = []
    counts = count_events_file(path, errors.append, show_progress=False)
    assert [(error.line, error.message) for error in errors] == [
        (BAD_LINE, f"velocity must be an integer 0-127 or null, got {velocity!r}")]
    assert counts.events == 5

"""`diff`, `compare` and `events cambridge` of an input outside the workspace: the output goes outside too.

Before, `drumgate diff $TMPDIR/a.json $TMPDIR/b.json` wrote the workspace's diff and recorded its
command with the scratch paths in the lock (committed, hooks passing); `events cambridge --sessions
$TMPDIR/...` did the same to the committed events manifest; `compare` replaced the committed compare
report unrecorded. Each is refused as health and weights are (one `scratch_run`), its fix as printed
writing beside the input.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.workspace import Workspace
from tests.conftest import current_workspace
from tests.diff_fixtures import dated_reports_workspace
from tests.test_contract_layout import ingest, make_cambridge
from tests.test_outside_inputs import refusal, state

HEALTH = "reports/health"


@pytest.fixture
def reports_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    return current_workspace(dated_reports_workspace(tmp_path / "ws"), monkeypatch)


def outside(ws: Workspace, tmp_path: Path, *names: str) -> list[Path]:
    folder = tmp_path / "out"
    folder.mkdir(exist_ok=True)
    return [Path(shutil.copy(ws.root / HEALTH / name, folder / name)) for name in names]


def refused_then_fixed(ws: Workspace, argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """`argv` exits 2 with the one-line refusal and changes nothing; its fix, as printed, exits 0 and
    changes nothing in the workspace either. The fix's words."""
    before = state(ws)
    capsys.readouterr()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    fix = shlex.split(refusal(err)["fix"])
    assert state(ws) == before
    assert fix[0] == "drumgate" and cli.main(fix[1:]) in (0, 1), capsys.readouterr().err
    capsys.readouterr()
    assert state(ws) == before
    return fix


def test_a_diff_of_reports_outside_writes_beside_them(reports_ws: Workspace, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diff", f"{HEALTH}/musdb_hq_20250301.json", f"{HEALTH}/musdb_hq_20250302.json"]) == 0
    base, head = outside(reports_ws, tmp_path, "musdb_hq_20250301.json", "musdb_hq_20250302.json")
    fix = refused_then_fixed(reports_ws, ["diff", str(base), str(head)], capsys)
    written = [base.parent / f"musdb_hq_20250301_diff.{ext}" for ext in ("json", "md")]
    assert fix[-4:] == ["--json-output", str(written[0]), "--markdown-output", str(written[1])]
    assert all(path.is_file() for path in written)
    # one output typed outside: the other, defaulting inside, is moved out too
    fix = refused_then_fixed(reports_ws, ["diff", str(base), str(head), "--json-output", str(tmp_path / "d.json")],
                             capsys)
    assert fix[-2:] == ["--markdown-output", str(written[1])] and "--json-output" in fix


def test_a_compare_with_a_report_outside_writes_beside_it(reports_ws: Workspace, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compare", f"{HEALTH}/egmd_20250302.json", f"{HEALTH}/musdb_hq_20250302.json"]) in (0, 1)
    [a] = outside(reports_ws, tmp_path, "egmd_20250302.json")
    typed = ["compare", str(a), f"{HEALTH}/musdb_hq_20250302.json", "--markdown-output", "reports/diffs/mine.md"]
    fix = refused_then_fixed(reports_ws, typed, capsys)
    assert "reports/diffs/mine.md" not in fix
    assert (a.parent / "egmd_20250302_compare.json").is_file() and (a.parent / "egmd_20250302_compare.md").is_file()


def test_events_of_a_sessions_inventory_outside_write_beside_it(workspace: Workspace, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    make_cambridge(workspace.root / "data" / "raw")
    assert ingest("cambridge", "--layout", "file") == 0 and cli.main(["events", "cambridge"]) == 0
    sessions = tmp_path / "out" / "cambridge_sessions.jsonl"
    sessions.parent.mkdir()
    shutil.copy(workspace.sessions_manifest("cambridge"), sessions)
    fix = refused_then_fixed(workspace, ["events", "cambridge", "--sessions", str(sessions)], capsys)
    assert fix[-2:] == ["--output", str(sessions.parent / "cambridge_sessions_events.jsonl")]
    assert Path(fix[-1]).is_file()

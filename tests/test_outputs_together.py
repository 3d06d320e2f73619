"""The files one command writes as one result: a health report and its page, a diff's JSON and its
Markdown. Two options naming one file, an output naming an input, and a write that fails half-way
each used to leave a damaged or orphaned report that docs then took as current; a diff of two
datasets was written, and linked, as the head dataset's history."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from drumgate.cli import compare as compare_cli
from drumgate.cli import diff as diff_cli
from drumgate.errors import DrumgateError
from drumgate.io.fsutil import write_together
from drumgate.workspace import Workspace
from tests.diff_fixtures import dated_reports_workspace


def test_two_options_naming_one_file_write_nothing(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    with pytest.raises(DrumgateError) as refused:
        write_together([("--output", report, b"{}\n"), ("--html-output", tmp_path / "." / "r.json", b"<html>\n")])
    assert str(refused.value) == (
        f"{tmp_path / '.' / 'r.json'}: --html-output names the same file as --output; nothing written "
        "(fix: leave --html-output out for its default, or give it a file of its own)")
    assert not report.exists()


def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"a":1}\n')
    with pytest.raises(DrumgateError, match="--output names a file this command reads; nothing written"):
        write_together([("--output", events, b"{}\n")], [events])
    assert events.read_bytes() == b'{"a":1}\n'


def test_a_target_that_cannot_be_written_leaves_the_other_untouched(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    report.write_bytes(b"old\n")
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(DrumgateError):
        write_together([("--output", report, b"new\n"), ("--html-output", tmp_path / "a-file" / "r.html", b"x")])
    assert report.read_bytes() == b"old\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file", "r.json"]  # no temporary file left


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    (tmp_path / "ws").mkdir()
    monkeypatch.chdir(tmp_path / "ws")
    return Workspace(dated_reports_workspace(tmp_path / "ws"))


def test_a_diff_of_two_datasets_is_refused_with_the_compare_that_fits(ws: Workspace,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    base, head = "reports/health/egmd_20250302.json", "reports/health/musdb_hq_20250302.json"
    assert diff_cli.main(["--workspace", str(ws.root), base, head]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"a diff is one dataset over time: this base is egmd's report and this head musdb_hq's "
                        f"(fix: drumgate compare {base} {head})"), err
    assert not (ws.root / "reports" / "diffs").exists() or not any((ws.root / "reports" / "diffs").iterdir())
    command = shlex.split(err.split("(fix: drumgate ", 1)[1].rstrip(")"))
    assert command[0] == "compare"
    assert compare_cli.main(["--workspace", str(ws.root), *command[1:]]) in (0, 1)


def test_a_diff_output_over_its_own_input_writes_nothing(ws: Workspace) -> None:
    head = ws.health_report("musdb_hq", "20250302")
    before = head.read_bytes()
    argv = ["--workspace", str(ws.root), "--baseline", "auto", str(head), "--json-output", str(head)]
    assert diff_cli.main(argv) == 2
    assert head.read_bytes() == before

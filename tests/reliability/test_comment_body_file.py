"""`drumgate comment --body-file`: a FIFO or an oversized file is one line before any request is made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.github.comment import BODY_FILE_LIMIT

pytestmark = pytest.mark.reliability


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> None:
    # A loopback origin nothing listens on: a request would fail differently from the checks below.
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_bodyFileCheck0123456789")


def _comment(body: Path) -> list[str]:
    return ["comment", "--repo", "acme/data", "--pr", "7", "--body-file", str(body)]


def test_a_fifo_body_is_refused_at_once(tmp_path: Path, api: None, capsys: pytest.CaptureFixture) -> None:
    fifo = tmp_path / "comment.md"
    os.mkfifo(fifo)
    assert cli.main(_comment(fifo)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a regular file" in err[0]


def test_an_oversized_body_is_refused_unread(tmp_path: Path, api: None, capsys: pytest.CaptureFixture) -> None:
    body = tmp_path / "comment.md"
    with open(body, "wb") as handle:
        handle.truncate(BODY_FILE_LIMIT + 1)
    assert cli.main(_comment(body)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "comment body is over" in err[0]


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_an_empty_body_is_refused_before_it_blanks_the_sticky_comment(
        tmp_path: Path, api: None, capsys: pytest.CaptureFixture, text: str) -> None:
    body = tmp_path / "comment.md"
    body.write_text(text, encoding="utf-8")
    assert cli.main(_comment(body)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{body}: comment body is empty; nothing posted "
                   "(fix: pass the comment.md that drumgate pr-report --out DIR writes)"]


@pytest.mark.parametrize(("argv", "says"), [
    (["--expect-head-sha", "xyz"], "--expect-head-sha 'xyz' is not a commit SHA (40 or 64 hex digits)"),
    (["--repo", "o/r/../x"], "(fix: pass --repo \"$GITHUB_REPOSITORY\", which GitHub Actions sets to OWNER/NAME)"),
])
def test_a_malformed_option_is_a_usage_error_before_any_request(
        tmp_path: Path, api: None, capsys: pytest.CaptureFixture, argv: list[str], says: str) -> None:
    body = tmp_path / "comment.md"
    body.write_text("### ✅ Merge-safe\n", encoding="utf-8")
    typed = _comment(body)
    if argv[0] == "--repo":
        typed[typed.index("--repo") + 1] = argv[1]
    else:
        typed += argv
    assert cli.main(typed) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err


SHA = "a" * 40
RUN = "https://github.example/acme/data/actions/runs/99"


@pytest.mark.parametrize(("argv", "says"), [
    (["--withdrawn", RUN], "--withdrawn needs --expect-head-sha"),
    (["--withdrawn", "javascript:alert(1)", "--expect-head-sha", SHA], "is not the https URL of a workflow run"),
    (["--withdrawn", f"{RUN})[x](https://evil.example", "--expect-head-sha", SHA], "is not the https URL"),
])
def test_a_withdrawal_needs_the_head_and_a_run_url(api: None, capsys: pytest.CaptureFixture, argv: list[str],
                                                    says: str) -> None:
    assert cli.main(["comment", "--repo", "acme/data", "--pr", "7", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "(fix: " in err[0], err


def test_a_withdrawal_takes_no_body_file(tmp_path: Path, api: None, capsys: pytest.CaptureFixture) -> None:
    body = tmp_path / "comment.md"
    body.write_text("### ✅ Merge-safe\n", encoding="utf-8")
    assert cli.main([*_comment(body), "--withdrawn", RUN, "--expect-head-sha", SHA]) == 2
    assert "not allowed with argument" in capsys.readouterr().err

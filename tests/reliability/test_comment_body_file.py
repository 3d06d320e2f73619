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

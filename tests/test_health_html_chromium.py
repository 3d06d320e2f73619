"""The health page in a real headless Chromium: no console messages, escaped DOM, a screenshot.

The screenshot goes to $DRUMGATE_ARTIFACTS_DIR when set (CI keeps it as an artifact), else tmp.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from drumgate.cli import health as health_cmd
from drumgate.fixtures.health_events import event, event_rows, session_rows
from drumgate.io.jsonio import write_jsonl
from drumgate.workspace import Workspace

CHROMIUM = Path("/usr/bin/chromium")
CONSOLE_LINE = re.compile(r":CONSOLE[:(]")
HOSTILE = "<script>document.title='pwned';console.error('xss')</script>"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() or shutil.which("chromium")),
    reason="headless Chromium not installed (Debian package `chromium`)",
)


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    binary = str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))
    argv = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE_LINE.search(line)]


@pytest.fixture
def report_page(workspace: Workspace) -> Path:
    rows = list(event_rows(4000, sessions=40, seed=11))
    rows += [event(HOSTILE, "kick", "test", index=i) for i in range(300)]
    rows += [event("s-odd", "mystery_gong", "train", techniques=("wobble",))]
    write_jsonl(workspace.events_manifest("egmd"), rows)
    write_jsonl(workspace.sessions_manifest("egmd"), session_rows(40, seed=11))
    argv = ["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01", "--require-class", "clap=5"]
    code = health_cmd.main([*argv, "--vocabulary", "adtof5"])
    assert code == 1
    return workspace.health_report("egmd", "20240501", "html")


def test_console_detection_sees_a_console_error(tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><p>x</p><script>console.error('control-marker')</script>", encoding="utf-8")
    done = _chromium(control, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert any("control-marker" in line for line in _console_lines(done.stderr))


def test_report_loads_without_console_messages_and_stays_escaped(report_page: Path, tmp_path: Path) -> None:
    done = _chromium(report_page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_lines(done.stderr) == []
    dom = done.stdout
    assert "egmd health report" in dom
    assert "<script" not in dom
    assert "&lt;script&gt;document.title" in dom
    assert "pwned" not in dom.split("<title>")[1].split("</title>")[0]


def test_report_screenshot(report_page: Path, tmp_path: Path) -> None:
    target_dir = Path(os.environ.get("DRUMGATE_ARTIFACTS_DIR") or tmp_path)
    target_dir.mkdir(parents=True, exist_ok=True)
    shot = target_dir / "health_report_egmd.png"
    shot.unlink(missing_ok=True)
    done = _chromium(report_page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,1600")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_lines(done.stderr) == []
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 1600)

"""An output path that is a device or FIFO (`--output /dev/null`) is written in place, never replaced.

Atomic writes rename a temporary file over the target; done to /dev/null as root, that leaves a
regular file where the device was and breaks every program on the machine. The tests use a FIFO
in a temporary folder, so a regression cannot damage the real /dev/null.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from drumgate.io.fsutil import atomic_write_bytes

pytestmark = pytest.mark.reliability


def _drain(fifo: Path, sink: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(fifo, "rb") as handle:
            sink.append(handle.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_a_fifo_target_receives_the_bytes_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _drain(fifo, received)
    atomic_write_bytes(fifo, b'{"ok": true}\n')
    reader.join(timeout=30)
    assert received == [b'{"ok": true}\n']
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left


def test_health_html_output_to_a_fifo_keeps_the_fifo(workspace, tmp_path: Path) -> None:
    from drumgate import cli
    from drumgate.fixtures.health_events import event_rows
    from drumgate.io.jsonio import write_jsonl

    events = workspace.root / "data" / "manifests" / "egmd_events.jsonl"
    write_jsonl(events, event_rows(200, sessions=4))
    fifo = tmp_path / "page.html"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _drain(fifo, received)
    code = cli.main(["health", "--events", str(events), "--output", str(tmp_path / "h.json"),
                     "--html-output", str(fifo), "--date", "2026-01-01"])
    reader.join(timeout=60)
    assert code in (0, 1)
    assert received and received[0].startswith(b"<!DOCTYPE html>")
    assert stat.S_ISFIFO(fifo.stat().st_mode)

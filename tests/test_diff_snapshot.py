"""The reviewer-facing Markdown of a real-shaped day-over-day diff, pinned byte for byte.

Regenerate after an intended change with DRUMGATE_UPDATE_SNAPSHOTS=1 and read the result as a
reviewer would before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from drumgate.reports.diffing import diff_reports, render_diff_markdown
from tests.diff_fixtures import health_report, next_day_report

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "diff_health.md"


def test_health_diff_markdown_matches_snapshot() -> None:
    diff = diff_reports(health_report(), next_day_report())
    text = render_diff_markdown(diff, "musdb_hq health: 20250301 → 20250302")
    if os.environ.get("DRUMGATE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")


def test_snapshot_reads_like_a_review() -> None:
    text = SNAPSHOT.read_text(encoding="utf-8")
    head, details = text.split("<details>", 1)
    assert head.startswith("<!-- drumgate:diff -->\n### musdb_hq health: 20250301 → 20250302\n")
    assert "| events | 96,410 | 94,977 | −1,433 (−1.5%) |" in head
    assert "**❌ `min_class_events[ride]` now fails: observed 1,912, needs ≥ 2,000** (was 3,345)." in head
    assert "| `ride` | 3,345 | 1,912 | −1,433 | 3.47% | 2.01% | −1.46 pp |" in head
    assert "| `choke` | 0 | 212 | new |" in head
    assert "- Sessions that changed split (1): `Leaf - Wicked` test → train" in head
    assert head.index("now fails") < head.index("#### Classes") < head.index("#### Techniques")
    assert details.lstrip().startswith("<summary>Full deepdiff (musdb_hq): 25 change(s)</summary>")
    assert details.rstrip().endswith("```\n</details>")

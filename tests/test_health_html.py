"""The HTML page: escaped dataset strings, self-contained, small whatever the corpus size."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from drumgate.fixtures.health_events import event, numbered
from drumgate.render.html_report import render_health_html
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.workspace import Workspace

HOSTILE = '<script>alert("x")</script>'


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def test_script_session_name_and_labels_are_escaped(workspace: Workspace) -> None:
    rows = [event("s1", "kick", index=i) for i in range(5)]
    rows += [event(HOSTILE, "kick"), event("s2", "<img src=x onerror=alert(1)>", techniques=('"><b>t',))]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows))
    page = render_health_html(report, date="2024-05-01")
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert parsed.tags.count("b") == len(report["splits"])
    assert "&#34;&gt;&lt;b&gt;t" in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert HOSTILE in "".join(parsed.text)
    assert "<img src=x" not in page


def test_page_is_self_contained(workspace: Workspace) -> None:
    kicks = numbered([event("s1", "kick", index=i) for i in range(5)])
    report = compute_health(load_health_config(workspace, "egmd"), kicks)
    page = render_health_html(report)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page
    assert "@import" not in page
    assert "<svg" in page


def test_page_stays_small_with_thousands_of_sessions(workspace: Workspace) -> None:
    rows = [event(f"session-{i:05d}-{'x' * 40}", "kick", item_id=f"item-{i}") for i in range(5000)]
    rows += [event(f"session-{i:05d}-{'x' * 40}", f"weird_label_{i}") for i in range(300)]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows))
    page = render_health_html(report)
    assert len(page.encode("utf-8")) < 100_000
    assert "Top 40 of 5,000 sessions" in page
    assert "260 more in the JSON report." in page


def test_gate_rows_are_coloured_by_status(workspace: Workspace) -> None:
    kicks = numbered([event("s1", "kick", index=i) for i in range(5)])
    report = compute_health(load_health_config(workspace, "egmd"), kicks)
    page = render_health_html(report)
    assert '<tr class="fail"><td class="id">min_sessions</td><td class="status">FAIL</td>' in page
    assert '<tr class="pass"><td class="id">leakage</td><td class="status">PASS</td>' in page

"""The health report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

Chart geometry is computed here; the jinja2 template (autoescape on, finalize through
drumgate.render.textsafe) only places it, so every dataset-controlled string (labels, session ids,
paths) reaches the page escaped, with bidi, zero-width and control characters shown as escapes. Long tables
are capped so the page stays small whatever the size of the corpus.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jinja2

from drumgate.render.template_cache import bytecode_cache
from drumgate.render.textsafe import html_text

MAX_BARS = 30
MAX_ROWS = 40
BAR_HEIGHT = 20
BAR_GAP = 6
LABEL_WIDTH = 150
BAR_AREA = 520
SPLIT_COLOURS = {"train": "#2f6db5", "validation": "#e0a030", "test": "#3a9a5b", "unassigned": "#8a8f98"}
FALLBACK_COLOURS = ("#9b59b6", "#c0392b", "#16a085", "#7f8c8d")


def _neutralised(value: Any) -> Any:
    """Every `{{ ... }}` string: autoescaped and its bidi, zero-width and control characters shown escaped."""
    return html_text(value) if isinstance(value, str) else value


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("drumgate.render", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=_neutralised,
        bytecode_cache=bytecode_cache(),
    )


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def bar_chart(counts: Mapping[str, int], limit: int = MAX_BARS) -> dict[str, Any]:
    """Horizontal bars, largest first (ties by name), capped at `limit` with the rest summed."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown, rest = ordered[:limit], ordered[limit:]
    total = sum(counts.values())
    peak = max((n for _, n in shown), default=0) or 1
    bars = []
    for index, (name, n) in enumerate(shown):
        share = n / total if total else 0.0
        bars.append(
            {
                "label": name,
                "y": index * (BAR_HEIGHT + BAR_GAP),
                "width": max(1.0, round(BAR_AREA * n / peak, 1)) if n else 0.0,
                "text": f"{_fmt(n)} ({share:.1%})",
            }
        )
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    hidden = {"count": len(rest), "events": sum(n for _, n in rest)}
    return {"bars": bars, "height": height, "hidden": hidden, "empty": not bars}


def split_chart(splits: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """One stacked bar of event shares per split, with a legend."""
    total = sum(entry["events"] for entry in splits.values())
    segments = []
    x = 0.0
    ordered = sorted(splits, key=lambda s: (list(SPLIT_COLOURS).index(s) if s in SPLIT_COLOURS else 99, s))
    for index, split in enumerate(ordered):
        share = splits[split]["events"] / total if total else 0.0
        width = round((BAR_AREA + LABEL_WIDTH) * share, 1)
        colour = SPLIT_COLOURS.get(split, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])
        segments.append(
            {
                "split": split,
                "x": x,
                "width": width,
                "colour": colour,
                "share": f"{share:.1%}",
                "events": _fmt(splits[split]["events"]),
                "sessions": _fmt(splits[split]["sessions"]),
            }
        )
        x = round(x + width, 1)
    return {"segments": segments, "empty": not segments}


def velocity_chart(histogram: Mapping[str, Any]) -> dict[str, Any]:
    counts = histogram["counts"]
    edges = histogram["edges"]
    peak = max(counts, default=0) or 1
    column = 64
    plot_height = 160
    columns = []
    for index, n in enumerate(counts):
        height = round(plot_height * n / peak, 1)
        columns.append(
            {
                "x": index * column + 8,
                "y": plot_height - height + 16,
                "height": height,
                "width": column - 12,
                "label": f"{edges[index]}-{edges[index + 1] - 1}",
                "text": _fmt(n),
            }
        )
    return {
        "columns": columns,
        "width": len(counts) * column + 16,
        "plot_height": plot_height,
        "null": _fmt(histogram["null"]),
        "empty": not any(counts),
    }


def _top_sessions(sessions: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    ordered = sorted(sessions.items(), key=lambda item: (-item[1]["events"], item[0]))
    rows = [{"id": sid, "events": _fmt(entry["events"]), "split": entry["split"]} for sid, entry in ordered[:MAX_ROWS]]
    return {"rows": rows, "hidden": max(0, len(ordered) - MAX_ROWS), "total": _fmt(len(ordered))}


def _gates(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for gate in report["gates"]:
        threshold = gate["threshold"]
        shown = "–".join(_fmt(v) for v in threshold) if isinstance(threshold, list) else _fmt(threshold)
        rows.append(
            {"name": gate["name"], "status": gate["status"], "observed": _fmt(gate["observed"]), "threshold": shown,
             "waived": gate.get("waived", False)}
        )
    return rows


def _capped(table: Mapping[str, int]) -> dict[str, Any]:
    ordered = sorted(table.items(), key=lambda item: (-item[1], item[0]))
    return {"rows": [(k, _fmt(v)) for k, v in ordered[:MAX_ROWS]], "hidden": max(0, len(ordered) - MAX_ROWS)}


def health_context(report: Mapping[str, Any], date: str | None) -> dict[str, Any]:
    totals = report["totals"]
    return {
        "report": report,
        "date": date,
        "totals": [
            ("events", _fmt(totals["events"])),
            ("sessions", _fmt(totals["sessions"])),
            ("items", _fmt(totals["items"])),
            ("hours", _fmt(totals["hours"])),
            ("missing audio items", _fmt(totals["missing_audio_items"])),
            ("unknown-label events", _fmt(totals["unknown_label_events"])),
        ],
        "gates": _gates(report),
        "failed": sum(1 for gate in report["gates"] if gate["status"] == "fail"),
        "classes": bar_chart(report["classes"]),
        "techniques": bar_chart(report["techniques"]),
        "vocabulary": bar_chart(report["vocabulary_classes"]) if "vocabulary_classes" in report else None,
        "label_sources": bar_chart(report["label_sources"]),
        "splits": split_chart(report["splits"]),
        "velocity": velocity_chart(report["velocity_histogram"]),
        "sessions": _top_sessions(report["sessions"]),
        "unknown_labels": _capped(report["unknowns"]["labels"]),
        "unknown_techniques": _capped(report["unknowns"]["techniques"]),
        "leakage": {"rows": report["leakage"][:MAX_ROWS], "hidden": max(0, len(report["leakage"]) - MAX_ROWS)},
        "geometry": {"label_width": LABEL_WIDTH, "bar_area": BAR_AREA, "bar_height": BAR_HEIGHT},
    }


@functools.cache
def health_template() -> jinja2.Template:
    """The compiled page template: taken from `template_cache` when kept there, else compiled (25-30 ms
    of one core; `drumgate health` loads it while it counts)."""
    return _environment().get_template("health.html.j2")


def render_health_html(report: Mapping[str, Any], date: str | None = None) -> str:
    return health_template().render(**health_context(report, date))

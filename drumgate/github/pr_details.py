"""The collapsed parts of a dataset's comment: distribution tables, sessions, weights, licence,
a chart, malformed rows and the full deepdiff (JSON re-serialised, inside a fence longer than any
backtick run in it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.github.pr_text import (
    NAMES_SHOWN,
    as_number,
    code,
    count,
    esc,
    fenced,
    names_list,
    points,
    signed,
    significant_pair,
    weight,
)
from drumgate.github.sticky import COMMENT_LIMIT
from drumgate.render.textsafe import markup_text

TABLE_ROWS = 15
MOVERS_SHOWN = 5
CHART_BARS = 8
DEEPDIFF_CAP = 8_000
SAFE_CHART_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _delta_cell(row: Mapping[str, Any]) -> str:
    if row["base"] == 0 and row["head"] != 0:
        return "new"
    if row["base"] != 0 and row["head"] == 0:
        return "gone"
    return signed(row["delta"])


def _row_changed(row: Mapping[str, Any]) -> bool:
    return row["delta"] != 0 or round(row["share_delta_pp"], 2) != 0


def distribution_table(title: str, titles: str, distribution: Mapping[str, Any]) -> list[str]:
    """The changed rows of a class or technique table (`title`, `titles` its plural)."""
    rows = distribution["rows"]
    changed = [row for row in rows if _row_changed(row)]
    unchanged = max(int(distribution["rows_total"]) - len(changed), 0)
    if not changed:
        return [f"{title.capitalize()}: no change ({count(unchanged)} unchanged)."]
    lines = [f"| {title} | base | head | Δ | share Δ |", "|---|---:|---:|---:|---:|"]
    for row in changed[:TABLE_ROWS]:
        lines.append(
            f"| {code(row['name'])} | {count(row['base'])} | {count(row['head'])} "
            f"| {_delta_cell(row)} | {points(row['share_delta_pp'])} |"
        )
    hidden = len(changed) - TABLE_ROWS
    notes = []
    if hidden > 0:
        notes.append(f"{count(hidden)} more changed")
    if unchanged:
        notes.append(f"{count(unchanged)} unchanged")
    if notes:
        lines.append("")
        lines.append(f"<sub>{titles.capitalize()} not shown: {', '.join(notes)} (full list in the deepdiff).</sub>")
    return lines


def sessions_line(sessions: Mapping[str, Any]) -> str:
    added, removed = sessions["added"], sessions["removed"]
    text = (
        f"Sessions added ({count(added['count'])}): {names_list(added)} · "
        f"removed ({count(removed['count'])}): {names_list(removed)}"
    )
    moved = sessions["split_changed"]
    if moved["count"]:
        shown = ", ".join(
            f"{code(item['session'])} {esc(item['base'])} → {esc(item['head'])}"
            for item in moved["items"][:NAMES_SHOWN]
        )
        rest = int(moved["count"]) - len(moved["items"][:NAMES_SHOWN])
        more = f", … and {count(rest)} more" if rest > 0 else ""
        text += f" · split changed ({count(moved['count'])}): {shown}{more}"
    return text


def weight_move(base: Any, head: Any) -> str:
    if not as_number(base):
        return f"{weight(head)} (new)"
    if not as_number(head):
        return f"removed (was {weight(base)})"
    before, after = significant_pair(base, head, 4)
    return f"{before} → {after}"


def weights_line(entry: Mapping[str, Any]) -> str | None:
    weights = entry["weights"]
    if not weights:
        return None
    movers = weights["movers"][:MOVERS_SHOWN]
    if not movers:
        return "Sampling weights: unchanged."
    shown = " · ".join(f"{code(m['session'])} {weight_move(m['base'], m['head'])}" for m in movers)
    return f"Largest sampling-weight movers ({count(weights['movers_total'])} moved): {shown}"


LICENCE_FIELDS = (
    ("licence", "licence"),
    ("commercial_use", "commercial use"),
    ("redistribution", "redistribution"),
    ("attribution", "attribution"),
)


def licence_line(entry: Mapping[str, Any]) -> str:
    licence = entry["licence"]
    base, head = licence["base"], licence["head"]
    if licence["head_error"]:
        return f"Licence note: ❗ unreadable at head: {esc(licence['head_error'], 300)}"
    if head is None and entry["absent"]["head"]:  # removed or retired: no data left for a licence to cover
        return "Licence note: none at head, where the dataset has no events."
    if head is None:
        return "Licence note: ❗ missing at head."
    if base is not None and not licence_changed(base, head):
        short = "; ".join(f"{label}: {esc(head.get(key, ''), 60)}" for key, label in LICENCE_FIELDS[:3])
        return f"Licence constraints: unchanged ({short})."
    return f"**Licence {licence_changes(base or {}, head)}**"


def _field_changed(before: Mapping[str, str], after: Mapping[str, str], key: str) -> bool:
    """A constraint that reads differently; a combined one only source by source (a reordered mix is no change)."""
    old_text, new_text = str(before.get(key, "—")), str(after.get(key, "—"))
    by_source = _by_source(old_text), _by_source(new_text)
    if by_source[0] is not None and by_source[1] is not None:
        return by_source[0] != by_source[1]
    return old_text != new_text


def licence_changed(before: Mapping[str, str], after: Mapping[str, str]) -> bool:
    """Whether any constraint a trainer must respect changed (the comment's line and its verdict)."""
    return any(_field_changed(before, after, key) for key, _ in LICENCE_FIELDS)


def licence_changes(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    changes = []
    for key, label in LICENCE_FIELDS:
        if _field_changed(before, after, key):
            old_text, new_text = str(before.get(key, "—")), str(after.get(key, "—"))
            by_source = _by_source(old_text), _by_source(new_text)
            if by_source[0] is not None and by_source[1] is not None:
                changes.append(f"{label}: {_source_changes(*by_source)}")
                continue
            was, now = _from_the_change(old_text, new_text)
            changes.append(f"{label} is now “{esc(now, 60)}” (was “{esc(was, 60)}”)")
    return "constraints changed: " + " · ".join(changes)


# The combined manifest's constraints list each mixed source as `<ds>: <its text>`, joined by `; `.
_SOURCE_START = re.compile(r"; (?=[a-z][a-z0-9_]*: )")
_SOURCE_ENTRY = re.compile(r"([a-z][a-z0-9_]*): (.*)", re.DOTALL)


def _by_source(text: str) -> dict[str, str] | None:
    """`{ds: text}` of a combined constraint; None for one dataset's own (not `<ds>: ` entries)."""
    entries = [_SOURCE_ENTRY.fullmatch(part) for part in _SOURCE_START.split(text)]
    return {m.group(1): m.group(2) for m in entries if m} if all(entries) else None


def _source_changes(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """What changed, source by source: one left the mix, one joined it, or its own text changed (the
    whole texts, cut to the same start, could read alike when the last source went)."""
    words = []
    for name in dict.fromkeys([*before, *after]):
        if name not in after:
            words.append(f"{esc(name)}’s “{esc(before[name], 60)}” gone")
        elif name not in before:
            words.append(f"{esc(name)}’s “{esc(after[name], 60)}” added")
        elif before[name] != after[name]:
            words.append(f"{esc(name)}’s is now “{esc(after[name], 60)}” (was “{esc(before[name], 60)}”)")
    return ", ".join(words)


def _from_the_change(before: str, after: str) -> tuple[str, str]:
    """Both texts from the `; `-separated entry where they first differ: the combined licence lists every
    source, and cut to 60 characters from the start both sides read the same."""
    pairs = zip(before, after, strict=False)
    same = next((index for index, (was, now) in enumerate(pairs) if was != now), min(len(before), len(after)))
    entry = before.rfind("; ", 0, same)
    start = entry + 2 if entry >= 0 else 0
    lead = "…" if start else ""
    return lead + before[start:], lead + after[start:]


def chart(dataset: str, distribution: Mapping[str, Any]) -> list[str]:
    """A mermaid bar chart; only names that are plain identifiers go in it (no escaping exists there).
    `fullmatch`: `$` would also let a name end in a newline."""
    bars = [
        row
        for row in distribution["rows"]
        if SAFE_CHART_NAME.fullmatch(str(row["name"])) and round(row["share_delta_pp"], 2) != 0
    ][:CHART_BARS]
    if not bars or not SAFE_CHART_NAME.fullmatch(dataset):
        return []
    names = ", ".join(f'"{row["name"]}"' for row in bars)
    values = ", ".join(f"{round(row['share_delta_pp'], 2):g}" for row in bars)
    return [
        "```mermaid",
        "xychart-beta",
        f'  title "{dataset}: class share change (percentage points)"',
        f"  x-axis [{names}]",
        '  y-axis "pp"',
        f"  bar [{values}]",
        "```",
    ]


def malformed_lines(entry: Mapping[str, Any]) -> list[str]:
    malformed = entry["malformed_rows"]
    total = int(malformed["head"])
    if not total:
        return []
    shown = malformed["head_shown"][:5]
    lines = [f"Malformed rows at head ({count(total)}):", ""]
    lines.extend(f"- {esc(text, 300)}" for text in shown)
    if total > len(shown):
        lines.append(f"- … and {count(total - len(shown))} more (see `summary.json` in the artifact)")
    return lines


def details_block(entry: Mapping[str, Any]) -> list[str]:
    dataset = str(entry["dataset"])
    body: list[str] = []
    body.extend(distribution_table("class", "classes", entry["classes"]))
    body.append("")
    body.extend(distribution_table("technique", "techniques", entry["techniques"]))
    body.append("")
    body.append(sessions_line(entry["sessions"]))
    movers = weights_line(entry)
    if movers:
        body.append(movers)
    body.append(licence_line(entry))
    malformed = malformed_lines(entry)
    if malformed:
        body.append("")
        body.extend(malformed)
    graph = chart(dataset, entry["classes"])
    if graph:
        body.append("")
        body.extend(graph)
    return [
        f"<details><summary>{esc(dataset)}: classes, techniques, sessions, weights, licence</summary>",
        "",
        *body,
        "</details>",
    ]


def deepdiff_text(deepdiff_json: str, limit: int) -> str:
    """The deepdiff re-serialised from its parsed JSON, cut just past `limit` characters before its
    invisible and control characters are shown escaped, so a forged diff costs no more than a comment
    can show; indented unless its compact text alone is longer than a comment (indenting a deeply
    nested one multiplies it)."""
    try:
        parsed = orjson.loads(deepdiff_json)
        indent = orjson.OPT_INDENT_2 if len(deepdiff_json) <= COMMENT_LIMIT else 0
        text = orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS | indent).decode("utf-8")
    except (orjson.JSONDecodeError, TypeError) as exc:  # TypeError: nested deeper than orjson writes
        raise DrumgateError(f"deepdiff_json is not JSON drumgate can show ({exc})") from None
    return markup_text(text[: limit + 1])


def deepdiff_block(entry: Mapping[str, Any], cap: int | None) -> list[str]:
    """The diff whole (up to a comment's length, which no level longer than that can show anyway) or cut at `cap`."""
    limit = COMMENT_LIMIT if cap is None else cap
    text = deepdiff_text(entry["deepdiff_json"], limit)
    note = ""
    if len(text) > limit:
        cut = text[:limit].rsplit("\n", 1)[0]
        note = (
            f"\n\nCut at {count(limit)} characters: the whole diff is `reports/{esc(entry['dataset'])}_diff.json` "
            "in the workflow artifact."
        )
        text = cut + "\n…"
    return [
        f"<details><summary>Full deepdiff ({esc(entry['dataset'])}, {count(entry['changes'])} changes)</summary>",
        "",
        fenced(text, "json") + note,
        "</details>",
    ]

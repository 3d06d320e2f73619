"""The pull-request comment of `drumgate pr-report`: Markdown a reviewer reads in ten seconds.

The comment is rendered from one data document, the `summary.json` that `pr-report` writes and
`pr_summary.schema.json` describes, never from text made elsewhere: the trusted `workflow_run` job
renders the same way from the artifact's summary as `pr-report` does locally. Every verdict (the
gate tallies' icons, "now fails", "new", "gone") is computed here from the numbers; every string
from the data (dataset, session, class, gate and licence text, error lines) goes through `esc`
(`drumgate.render.textsafe.markdown_text`), so none can mention, link, embed an image, open HTML, break a
table or reorder text with bidi controls. The full deepdiff is JSON re-serialised here and shown
only inside a code fence longer than any backtick run in it. The comment is rendered at decreasing
detail until it fits under GitHub's 65,536-character limit.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.render.textsafe import markdown_text, markup_text

GITHUB_LIMIT = 65_536
COMMENT_BUDGET = 65_000
MARKER = "<!-- drumgate:health-delta -->"
TABLE_ROWS = 15
NAMES_SHOWN = 12
MOVERS_SHOWN = 5
CHART_BARS = 8
NAME_CHARS = 80
DEEPDIFF_CAP = 8_000
SAFE_CHART_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MINUS = "−"
SOURCE_GATE = "source_gates"

# Levels of detail, most first: what each one leaves out of the comment.
LEVELS: tuple[tuple[str, ...], ...] = (
    (),
    ("deepdiff_tail",),
    ("deepdiff",),
    ("deepdiff", "details"),
)


@dataclass(frozen=True)
class Context:
    """What the comment needs beyond the summary: where the artifact lives (never from the artifact)."""

    artifact_name: str
    run_url: str | None


@dataclass(frozen=True)
class Rendered:
    text: str
    level: int
    dropped: list[str] = field(default_factory=list)


def run_url(repo_url: str | None, run_id: str | None) -> str | None:
    if not repo_url or not run_id:
        return None
    if not re.match(r"^https?://[A-Za-z0-9._:/-]+$", repo_url):
        return None
    return f"{repo_url.rstrip('/')}/actions/runs/{run_id}"


def regenerate_command(base: str, head: str) -> str:
    return shlex.join(["drumgate", "pr-report", "--base", base[:7], "--head", head[:7], "--out", "pr-report/"])


# Escaping -------------------------------------------------------------------------------------
# markdown_text already makes links impossible (no `[`); these go too, so no link or image syntax
# (`](`, `![`) survives in the comment even in part. Its output holds none of them itself.
_LINK_PUNCTUATION = str.maketrans({"(": "&#40;", ")": "&#41;", "!": "&#33;"})


def esc(value: Any, limit: int = NAME_CHARS) -> str:
    """Plain text safe anywhere in GitHub Markdown, in a table cell and inside HTML (cut to `limit`)."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return markdown_text(text).translate(_LINK_PUNCTUATION)


def code(value: Any, limit: int = NAME_CHARS) -> str:
    return f"<code>{esc(value, limit)}</code>"


def fenced(text: str, info: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside `text`."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


# Numbers ----------------------------------------------------------------------------------------
def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def count(value: Any) -> str:
    number = _num(value)
    text = f"{abs(number):,.0f}" if number.is_integer() else f"{abs(number):,.4g}"
    return f"{MINUS}{text}" if number < 0 else text


def signed(value: Any) -> str:
    number = _num(value)
    if number == 0:
        return "±0"
    return ("+" if number > 0 else "") + count(number)


def percent_change(base: Any, head: Any) -> str:
    before, after = _num(base), _num(head)
    if before == 0:
        return "new" if after else ""
    change = (after - before) / before * 100
    text = f"{abs(change):.1f}%"
    return ("+" if change > 0 else MINUS if change < 0 else "±") + text


def points(value: Any) -> str:
    number = round(_num(value), 2)
    if number == 0:
        return "±0 pp"
    return f"{'+' if number > 0 else MINUS}{abs(number):.2f} pp"


def _decimals(number: float, digits: int) -> int:
    return 0 if number == 0 else max(0, digits - 1 - math.floor(math.log10(abs(number))))


def _without_trailing_zeros(texts: list[str]) -> list[str]:
    """Drop the trailing zeros every one of `texts` shares after its decimal point (0.00670 -> 0.0067)."""
    while all("." in text and text.endswith("0") for text in texts):
        texts = [text[:-1] for text in texts]
    return [text[:-1] if text.endswith(".") else text for text in texts]


def significant(value: Any, digits: int = 3) -> str:
    """`value` to `digits` significant digits, never in exponent form (0.0286, 1.25, 1,234)."""
    number = _num(value)
    return _without_trailing_zeros([f"{number:,.{_decimals(number, digits)}f}"])[0]


def significant_pair(base: Any, head: Any, digits: int = 3) -> tuple[str, str]:
    """Both values to the same decimals, with as many significant digits as it takes for a change to show."""
    before, after = _num(base), _num(head)
    while True:
        decimals = max(_decimals(before, digits), _decimals(after, digits))
        texts = [f"{before:,.{decimals}f}", f"{after:,.{decimals}f}"]
        if texts[0] != texts[1] or before == after or digits >= 12:
            break
        digits += 1
    first, second = _without_trailing_zeros(texts)
    return first, second


def hours_change(row: Mapping[str, Any]) -> str:
    before, after = significant_pair(row["base"], row["head"])
    change = percent_change(row["base"], row["head"])
    return f"{before} → {after}" + (f" ({change})" if change and _num(row["base"]) != _num(row["head"]) else "")


def weight(value: Any) -> str:
    number = _num(value)
    if number == 0:
        return "—"
    return significant(number, 4)


def observed(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(observed(item) for item in value) + "]"
    number = _num(value)
    if number.is_integer() and abs(number) >= 1:
        return count(number)
    return f"{number:.4g}"


# Gates ------------------------------------------------------------------------------------------
def gate_comparison(name: str, value: Any, threshold: Any, passed: bool) -> str:
    if name.startswith("min_"):
        return f"{observed(value)} {'≥' if passed else '<'} {observed(threshold)}"
    if name.startswith("max_"):
        return f"{observed(value)} {'≤' if passed else '>'} {observed(threshold)}"
    if name.startswith("split_bounds"):
        return f"share {observed(value)} {'inside' if passed else 'outside'} {observed(threshold)}"
    if name == "leakage":
        leaks = int(_num(value))
        return "no leaks" if leaks == 0 else f"{count(leaks)} leak{'s' if leaks != 1 else ''}"
    if name.startswith(f"{SOURCE_GATE}["):
        failing = int(_num(value))
        return "its own gates pass" if failing == 0 else f"fails {_plural(failing, 'own gate')}"
    return f"observed {observed(value)}, threshold {observed(threshold)}"


def gates_pass(gates: Mapping[str, Any]) -> bool:
    """The verdict, from the tally's numbers alone: every gate passed."""
    return int(gates["passed"]) == int(gates["total"])


def tally(gates: Mapping[str, Any], absent: bool) -> str:
    if absent:
        return "— (absent)"
    icon = "✅" if gates_pass(gates) else "❌"
    return f"{icon} {count(gates['passed'])}/{count(gates['total'])}"


def source_of_gate(entry: Mapping[str, Any], gate_name: str) -> Mapping[str, Any] | None:
    """The mixed source a `source_gates[<ds>]` gate of the combined manifest judges, from the summary."""
    for source in entry.get("sources", ()):
        if gate_name == f"{SOURCE_GATE}[{source['dataset']}]":
            return source
    return None


def source_failures(source: Mapping[str, Any]) -> str:
    """`egmd` fails `min_class_events[kick]`, … (the source's own failing gates, by name)."""
    shown = ", ".join(code(name) for name in source["failing"][:NAMES_SHOWN])
    rest = int(source["failing_count"]) - len(source["failing"][:NAMES_SHOWN])
    more = f", … and {count(rest)} more" if rest > 0 else ""
    return f"{code(source['dataset'])} fails {shown}{more}"


def gate_comparison_in(entry: Mapping[str, Any], gate: Mapping[str, Any], value: Any, passed: bool) -> str:
    source = source_of_gate(entry, gate["name"])
    if source is not None and not passed and source["failing"]:
        return f"mixed dataset {source_failures(source)}"
    return gate_comparison(gate["name"], value, gate["threshold"], passed)


def gate_callouts(entry: Mapping[str, Any]) -> list[str]:
    gates, name = entry["gates"], esc(entry["dataset"])
    base_absent = entry["absent"]["base"]
    lines = []
    for gate in gates["failing"]:
        comparison = gate_comparison_in(entry, gate, gate["observed"], passed=False)
        was = f" (was {observed(gate['was'])})" if gate["was"] is not None and not base_absent else ""
        if base_absent:
            lines.append(f"❌ {name}: {code(gate['name'])} fails: {comparison}.")
        elif gate["was_status"] == "pass":
            lines.append(f"**❌ {name}: {code(gate['name'])} now fails: {comparison}**{was}.")
        elif gate["was_status"] == "fail":
            was = "" if source_of_gate(entry, gate["name"]) else was
            lines.append(f"❌ {name}: {code(gate['name'])} still fails: {comparison}{was}.")
        else:
            lines.append(f"**❌ {name}: {code(gate['name'])} fails: {comparison}**.")
    for gate in gates["flipped"]:
        if gate["head_status"] == "pass" and not base_absent:
            comparison = gate_comparison(gate["name"], gate["head_observed"], gate["threshold"], passed=True)
            lines.append(
                f"✅ {name}: {code(gate['name'])} now passes: {comparison} (was {observed(gate['base_observed'])})."
            )
    return lines


# One dataset ------------------------------------------------------------------------------------
def _totals(entry: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return entry["totals"].get(key) or {"base": 0, "head": 0, "delta": 0}


def overview_row(entry: Mapping[str, Any]) -> str:
    name = esc(entry["dataset"])
    if "error" in entry:
        return f"| {name} | ❗ error | — | — | — |"
    gates, absent = entry["gates"], entry["absent"]
    events, sessions, hours_row = (_totals(entry, key) for key in ("events", "sessions", "hours"))
    event_change = ", ".join(
        part for part in (signed(events["delta"]), percent_change(events["base"], events["head"])) if part
    )
    return (
        f"| {name} "
        f"| {tally(gates['base'], absent['base'])} → {tally(gates['head'], absent['head'])} "
        f"| {count(events['base'])} → {count(events['head'])} ({event_change}) "
        f"| {count(sessions['base'])} → {count(sessions['head'])} ({signed(sessions['delta'])}) "
        f"| {hours_change(hours_row)} |"
    )


def dataset_callouts(entry: Mapping[str, Any]) -> list[str]:
    name = esc(entry["dataset"])
    if "error" in entry:
        return [f"❗ {name}: health could not be computed: {esc(entry['error'], 400)}"]
    absent = entry["absent"]
    lines = []
    if absent["head"] and not absent["base"]:
        lines.append(f"⚠️ {name}: the events manifest is removed at head.")
    elif absent["base"] and not absent["head"]:
        lines.append(f"🆕 {name}: new events manifest at head.")
    lines.extend(gate_callouts(entry))
    lines.extend(waiver_callouts(entry))
    lines.extend(storage_callouts(entry))
    malformed = int(entry["malformed_rows"]["head"])
    if malformed:
        lines.append(f"⚠️ {name}: {_plural(malformed, 'malformed row')} at head left out of the counts (listed below).")
    if entry["leakage_added"]["count"]:
        lines.append(f"⚠️ {name}: new split leakage: {names_list(entry['leakage_added'])}.")
    licence = entry["licence"]
    if licence["base"] is not None and licence["head"] is not None and licence["base"] != licence["head"]:
        lines.append(f"⚠️ {name}: licence {licence_changes(licence['base'], licence['head'])}.")
    if entry["unknown_labels_added"]["count"]:
        lines.append(f"⚠️ {name}: labels the taxonomy does not know: {names_list(entry['unknown_labels_added'])}.")
    return lines


def waiver_callouts(entry: Mapping[str, Any]) -> list[str]:
    name = esc(entry["dataset"])
    return [
        f"⚠️ {name}: waived in {code('[combined] waive_source_gates')}: {source_failures(source)}."
        for source in entry.get("sources", ())
        if source["waived"] and source["failing_count"]
    ]


def status_move(item: Mapping[str, Any]) -> str:
    tier = f" ({esc(item['tier'])} tier)" if item["tier"] else ""
    before = esc(item["base"]) if item["base"] else "new"
    return f"{code(item['session'])}{tier} {before} → {esc(item['head'])}"


def storage_callouts(entry: Mapping[str, Any]) -> list[str]:
    """Sessions whose storage status changed (offline tier, missing or unreadable audio), with the item counts."""
    storage = entry["storage"]
    changed = storage["status_changed"]
    if not changed["count"]:
        return []
    name = esc(entry["dataset"])
    shown = ", ".join(status_move(item) for item in changed["items"][:NAMES_SHOWN])
    rest = int(changed["count"]) - len(changed["items"][:NAMES_SHOWN])
    more = f", … and {count(rest)} more" if rest > 0 else ""
    items = " · ".join(
        f"{esc(status)} {count(row['base'])} → {count(row['head'])}"
        for status, row in storage["items_by_status"].items()
        if row["delta"]
    )
    tally = f"; items by status: {items}" if items else ""
    return [f"⚠️ {name}: storage status changed for {_plural(int(changed['count']), 'session')}: {shown}{more}{tally}."]


SHARE_SHIFT_PP = 0.5


def _plural(number: int, word: str) -> str:
    return f"{count(number)} {word}{'' if number == 1 else 's'}"


def _share_story(classes: Mapping[str, Any]) -> str:
    """Which classes gained or lost share; the largest loser and gainer side by side."""
    rows = [row for row in classes["rows"] if abs(row["share_delta_pp"]) >= SHARE_SHIFT_PP]
    if not rows:
        moved = max(classes["rows"], key=lambda row: abs(row["share_delta_pp"]), default=None)
        if moved is None or round(moved["share_delta_pp"], 2) == 0:
            return "class shares unchanged"
        return f"class shares steady (largest move {code(moved['name'])} {points(moved['share_delta_pp'])})"
    losers = sorted((r for r in rows if r["share_delta_pp"] < 0), key=lambda r: r["share_delta_pp"])
    gainers = sorted((r for r in rows if r["share_delta_pp"] > 0), key=lambda r: -r["share_delta_pp"])

    def told(row: Mapping[str, Any]) -> str:
        return f"{code(row['name'])} ({signed(row['delta'])}, {points(row['share_delta_pp'])})"

    if losers and gainers:
        return f"share moves from {told(losers[0])} to {told(gainers[0])}"
    return "share shifts: " + ", ".join(told(row) for row in (losers or gainers)[:2])


def _technique_story(techniques: Mapping[str, Any]) -> str | None:
    gone = [row for row in techniques["rows"] if row["base"] and not row["head"]]
    new = [row for row in techniques["rows"] if row["head"] and not row["base"]]
    parts = [f"technique {code(row['name'])} gone ({count(row['base'])} → 0)" for row in gone[:2]]
    parts += [f"technique {code(row['name'])} new ({count(row['head'])})" for row in new[:2]]
    return "; ".join(parts) or None


def digest_line(entry: Mapping[str, Any]) -> str | None:
    """One sentence a reviewer reads first: sessions in and out, where class share went, techniques."""
    if "error" in entry or entry["absent"]["base"] or entry["absent"]["head"]:
        return None
    added, removed = entry["sessions"]["added"]["count"], entry["sessions"]["removed"]["count"]
    parts = []
    if added or removed:
        moves = [f"{_plural(added, 'session')} added"] if added else []
        moves += [f"{_plural(removed, 'session')} removed"] if removed else []
        parts.append(" and ".join(moves))
    parts.append(_share_story(entry["classes"]))
    technique = _technique_story(entry["techniques"])
    if technique:
        parts.append(technique)
    return f"- **{esc(entry['dataset'])}**: " + "; ".join(parts) + "."


def names_list(sample: Mapping[str, Any], shown: int = NAMES_SHOWN) -> str:
    """The first `shown` names of a sample (`names`, and `count` of them all) and how many more."""
    names, total = sample["names"][:shown], int(sample["count"])
    if not total:
        return "none"
    head = ", ".join(code(name) for name in names)
    rest = total - len(names)
    return f"{head}, … and {count(rest)} more" if rest > 0 else head


def _delta_cell(row: Mapping[str, Any]) -> str:
    if row["base"] == 0 and row["head"] != 0:
        return "new"
    if row["base"] != 0 and row["head"] == 0:
        return "gone"
    return signed(row["delta"])


def _row_changed(row: Mapping[str, Any]) -> bool:
    return row["delta"] != 0 or round(row["share_delta_pp"], 2) != 0


def distribution_table(title: str, distribution: Mapping[str, Any]) -> list[str]:
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
        lines.append(f"<sub>{title}s not shown: {', '.join(notes)} (full list in the deepdiff).</sub>")
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
    if not _num(base):
        return f"{weight(head)} (new)"
    if not _num(head):
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
    if head is None:
        return "Licence note: ❗ missing at head."
    if base == head:
        short = "; ".join(f"{label}: {esc(head.get(key, ''), 60)}" for key, label in LICENCE_FIELDS[:3])
        return f"Licence constraints: unchanged ({short})."
    return f"**Licence {licence_changes(base or {}, head)}**"


def licence_changes(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    changes = [
        f"{label} is now “{esc(after.get(key, '—'), 60)}” (was “{esc(before.get(key, '—'), 60)}”)"
        for key, label in LICENCE_FIELDS
        if before.get(key) != after.get(key)
    ]
    return "constraints changed: " + " · ".join(changes)


def chart(dataset: str, distribution: Mapping[str, Any]) -> list[str]:
    """A mermaid bar chart; only names that are plain identifiers go in it (no escaping exists there)."""
    bars = [
        row
        for row in distribution["rows"]
        if SAFE_CHART_NAME.match(str(row["name"])) and round(row["share_delta_pp"], 2) != 0
    ][:CHART_BARS]
    if not bars or not SAFE_CHART_NAME.match(dataset):
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
    body.extend(distribution_table("class", entry["classes"]))
    body.append("")
    body.extend(distribution_table("technique", entry["techniques"]))
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


def deepdiff_text(deepdiff_json: str) -> str:
    """The deepdiff re-serialised from its parsed JSON; invisible and control characters shown escaped."""
    try:
        parsed = orjson.loads(deepdiff_json)
    except orjson.JSONDecodeError as exc:
        raise DrumgateError(f"deepdiff_json is not JSON ({exc})") from None
    text = orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode("utf-8")
    return markup_text(text)


def deepdiff_block(entry: Mapping[str, Any], cap: int | None) -> list[str]:
    text = deepdiff_text(entry["deepdiff_json"])
    note = ""
    if cap is not None and len(text) > cap:
        cut = text[:cap].rsplit("\n", 1)[0]
        note = (
            f"\n\nCut at {count(cap)} characters: the whole diff is `reports/{esc(entry['dataset'])}_diff.json` "
            "in the workflow artifact."
        )
        text = cut + "\n…"
    return [
        f"<details><summary>Full deepdiff ({esc(entry['dataset'])}, {count(entry['changes'])} changes)</summary>",
        "",
        fenced(text, "json") + note,
        "</details>",
    ]


# The whole comment ------------------------------------------------------------------------------
def _artifact_link(ctx: Context) -> str:
    name = code(ctx.artifact_name)
    return f"[{name}]({ctx.run_url})" if ctx.run_url else name


@dataclass
class Verdict:
    """What the gates say across every changed dataset, counted from the summary's numbers."""

    errors: list[str] = field(default_factory=list)
    regressed: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    failing_new: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)


def _gate_named(entry: Mapping[str, Any], gate: Mapping[str, Any]) -> str:
    source = source_of_gate(entry, gate["name"])
    where = f" ({source_failures(source)})" if source is not None and source["failing"] else ""
    return f"{esc(entry['dataset'])} {code(gate['name'])}{where}"


def judge(entries: Sequence[Mapping[str, Any]]) -> Verdict:
    verdict = Verdict()
    for entry in entries:
        if "error" in entry:
            verdict.errors.append(esc(entry["dataset"]))
            continue
        for gate in entry["gates"]["failing"]:
            if entry["absent"]["base"]:
                verdict.failing_new.append(_gate_named(entry, gate))
            elif gate["was_status"] == "fail":
                verdict.still_failing.append(_gate_named(entry, gate))
            else:
                verdict.regressed.append(_gate_named(entry, gate))
        for item in entry["storage"]["status_changed"]["items"]:
            if item["head"] != "ok":
                verdict.offline.append(f"{esc(entry['dataset'])} {code(item['session'])} {esc(item['head'])}")
    return verdict


def _listed(label: str, items: Sequence[str], shown: int = 4) -> str:
    more = f", … and {count(len(items) - shown)} more" if len(items) > shown else ""
    return f"{label}: {', '.join(items[:shown])}{more}"


def verdict_line(entries: Sequence[Mapping[str, Any]]) -> str:
    """The first line: merge-safe or not, computed here from the gate statuses and counts in the summary."""
    verdict = judge(entries)
    if verdict.errors:
        head = f"❗ Not merge-safe: health could not be computed for {', '.join(verdict.errors)}"
    elif verdict.regressed:
        regressed = _plural(len(verdict.regressed), "gate") + " regressed"
        head = f"❌ Not merge-safe: {_listed(regressed, verdict.regressed)}"
    elif not entries:
        head = "✅ Merge-safe: no dataset artifacts or configs changed"
    else:
        head = "✅ Merge-safe: no gate regressed"
    parts = [head]
    if verdict.still_failing:
        parts.append(_listed(f"{_plural(len(verdict.still_failing), 'gate')} still failing", verdict.still_failing))
    if verdict.failing_new:
        parts.append(_listed(f"{_plural(len(verdict.failing_new), 'gate')} failing in new data", verdict.failing_new))
    if verdict.offline:
        parts.append(_listed("storage", verdict.offline))
    return "### " + "; ".join(parts)


def heading(summary: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> list[str]:
    base, head, merge_base = summary["base"], summary["head"], summary["merge_base"]
    base_text = f"base `{base[:7]}`"
    if merge_base != base:
        base_text = f"merge base `{merge_base[:7]}` of base `{base[:7]}`"
    where = f"(head `{head[:7]}` vs {base_text})"
    if not entries:
        return [
            f"Dataset health: no dataset artifacts or configs changed {where}",
            "",
            "This pull request changes no manifest, report, licence note or config, so dataset health is unchanged.",
        ]
    plural = "s" if len(entries) != 1 else ""
    lines = [f"Dataset health: {len(entries)} dataset group{plural} changed {where}"]
    if summary["configs_changed"]:
        lines += ["", "`configs/` changed, so every dataset group was recomputed with each side's own configs."]
    return lines


def dataset_entries(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"dataset": name, **data} for name, data in summary["datasets"].items()]


def render_at(summary: Mapping[str, Any], ctx: Context, drop: tuple[str, ...]) -> str:
    entries = dataset_entries(summary)
    lines = [MARKER, verdict_line(entries), "", *heading(summary, entries)]
    if entries:
        lines += ["", "| dataset | gates | events | sessions | hours |", "|---|---|---|---|---|"]
        lines += [overview_row(entry) for entry in entries]
        callouts = [line for entry in entries for line in dataset_callouts(entry)]
        if callouts:
            lines += ["", *[f"{line}<br>" if i < len(callouts) - 1 else line for i, line in enumerate(callouts)]]
        digests = [line for line in map(digest_line, entries) if line]
        if digests:
            lines += ["", "**What the data change does**", "", *digests]
        computed = [entry for entry in entries if "error" not in entry]
        if "details" not in drop:
            for entry in computed:
                lines += ["", *details_block(entry)]
        if "deepdiff" not in drop:
            cap = DEEPDIFF_CAP if "deepdiff_tail" in drop else None
            for entry in computed:
                lines += ["", *deepdiff_block(entry, cap)]
    if drop:
        left_out = {
            "deepdiff_tail": "long deepdiffs were cut",
            "deepdiff": "the full deepdiffs",
            "details": "the per-dataset details",
        }
        what = "; ".join(left_out[item] for item in drop if not (item == "deepdiff_tail" and "deepdiff" in drop))
        lines += [
            "",
            "> [!NOTE]",
            f"> Left out to stay under GitHub's 65,536-character comment limit: {what}. "
            f"Everything is in the workflow artifact {_artifact_link(ctx)}.",
        ]
    regenerate = regenerate_command(summary["base"], summary["head"])
    lines += ["", f"HTML reports: workflow artifact {_artifact_link(ctx)} · regenerate locally: `{regenerate}`"]
    return "\n".join(lines) + "\n"


def render_comment(summary: Mapping[str, Any], ctx: Context, limit: int = COMMENT_BUDGET) -> Rendered:
    """The richest rendering of a validated summary that fits in `limit` characters (a clean cut as the last resort)."""
    from drumgate.github.sticky import cut_body

    text = ""
    for level, drop in enumerate(LEVELS):
        text = render_at(summary, ctx, drop)
        if len(text) <= limit:
            return Rendered(text, level, list(drop))
    cut, _ = cut_body(text, limit)
    return Rendered(cut, len(LEVELS), [*LEVELS[-1], "tail"])

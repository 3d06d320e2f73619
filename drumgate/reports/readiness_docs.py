"""The dated health summary and the readiness plan's status block, from the newest reports.

`write_docs` is `drumgate docs` without its command line (`drumgate.cli.docs` is the adapter). It
reads the newest health report of every dataset (and of `prod_combined`) under reports/health/, the
diff whose head is that report, the newest weights and the dataset comparisons, then writes
`reports/health/<YYYY-MM-DD>-health-summary.md` and replaces the block between `BEGIN` and `END` in
DATASET_READINESS_PLAN.md (creating the plan, with its human-written sections around the block, when
it is missing). Everything outside the block is left as the people who wrote it left it.
Deterministic: the same reports and date give the same bytes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from drumgate import lineage
from drumgate.artifacts import HEALTH_DIR
from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_text
from drumgate.lineage import grouplock
from drumgate.lineage.found_inputs import Found, docs_sources
from drumgate.lineage.provenance import report_date
from drumgate.render.gate_wording import gate_rule
from drumgate.render.markdown import render_template
from drumgate.reports.report_io import artifact_group, read_report
from drumgate.workspace import COMBINED, Workspace

PLAN_NAME = "DATASET_READINESS_PLAN.md"
BEGIN = "<!-- drumgate:status:begin -->"
END = "<!-- drumgate:status:end -->"


def _gates_line(report: Mapping[str, Any]) -> tuple[int, int]:
    gates = report.get("gates") or []
    return sum(1 for g in gates if g.get("status") == "pass"), len(gates)


def dataset_entry(ws: Workspace, found: Found) -> dict[str, Any]:
    report = read_report(ws.path(found.health), ("health",))
    passed, total = _gates_line(report)
    totals = report.get("totals") or {}
    failing = [
        {"name": g.get("name"), "rule": gate_rule(g.get("name"), g.get("observed"), g.get("threshold"))}
        for g in report.get("gates") or []
        if g.get("status") == "fail"
    ]
    date = found.date
    return {
        "dataset": found.dataset,
        "date": f"{date[:4]}-{date[4:6]}-{date[6:]}",
        "status": report.get("status"),
        "passed": passed,
        "total": total,
        "events": totals.get("events"),
        "sessions": totals.get("sessions"),
        "hours": totals.get("hours"),
        "failing": failing,
        "licences": report.get("licences"),
        "storage": report.get("storage"),
        "sources": report.get("sources"),
        "paths": found.paths,
    }


def link_from(folder: str, target: str | None) -> Markup | None:
    """`target` (workspace-relative) as a relative link from `folder`, percent-encoded for Markdown."""
    if target is None:
        return None
    return Markup(quote(posixpath.relpath(target, folder or ".")))


def with_links(entries: Sequence[dict[str, Any]], folder: str) -> list[dict[str, Any]]:
    return [{**e, "links": {k: link_from(folder, v) for k, v in e["paths"].items()}} for e in entries]


def replace_block(text: str, block: str, name: str = PLAN_NAME) -> str:
    """`text` with its status block replaced (appended when it has none). A marker alone, doubled or out
    of order is refused: replacing from it to the next end marker would delete what a person wrote."""
    begins, ends = _marker_lines(text, BEGIN), _marker_lines(text, END)
    if not begins and not ends:
        return text.rstrip("\n") + "\n\n" + block
    if len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0]:
        start, end = text.find(BEGIN), text.find(END)
        return text[:start] + block.rstrip("\n") + text[end + len(END) :]
    if len(begins) > 1 or len(ends) > 1:
        doubled = begins if len(begins) > 1 else ends
        line, what = doubled[1], f"a second status {'begin' if doubled is begins else 'end'} marker"
    elif not ends or (begins and ends[0] < begins[0]):
        line, what = begins[0], "a status begin marker with no end marker after it"
    else:
        line, what = ends[0], "a status end marker with no begin marker before it"
    own_line = text.splitlines()[line - 1].strip() in (BEGIN, END)
    fix = f"fix: sed -i '{line}d' {name}, then drumgate docs" if own_line else f"fix: delete the marker at line {line}"
    raise DrumgateError(f"{what}: docs would replace text written by hand", path=name, line=line, hint=fix)


def _marker_lines(text: str, marker: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), start=1) if marker in line]


@dataclass(frozen=True)
class DocsOutcome:
    date: str
    entries: list[dict[str, Any]]
    summary: Path
    plan: Path

    @property
    def failing(self) -> int:
        return sum(1 for e in self.entries if e["status"] == "fail")


def write_docs(ws: Workspace, date_text: str | None = None) -> DocsOutcome:
    """Write the dated summary and the plan's status block; both are recorded in the combined group's lock."""
    date = report_date(date_text).isoformat()
    grouplock.hold_every_group(ws)
    # a summary dated by --date shows what stood that day; without it, the newest of everything
    sources = docs_sources(ws, date.replace("-", "") if date_text else None)
    entries = [dataset_entry(ws, item) for item in sources.datasets]
    compares = sources.compares
    summary_path = ws.root / HEALTH_DIR / f"{date}-health-summary.md"
    summary = render_template(
        "health_summary.md.j2",
        date=date,
        entries=with_links(entries, HEALTH_DIR),
        compares=[{"name": Path(c).stem, "link": link_from(HEALTH_DIR, c)} for c in compares],
    )
    atomic_write_text(summary_path, summary)
    block = render_template(
        "readiness_status.md.j2",
        begin=BEGIN,
        end=END,
        date=date,
        entries=with_links(entries, ""),
        summary=ws.rel(summary_path),
    )
    plan_path = ws.root / PLAN_NAME
    if plan_path.is_file():
        plan = replace_block(plan_path.read_text(encoding="utf-8"), block)
    else:
        plan = render_template("readiness_plan.md.j2", block=block.rstrip("\n"))
    if not plan_path.is_file() or plan_path.read_text(encoding="utf-8") != plan:
        atomic_write_text(plan_path, plan)
    # the finder lineage.check asks too: a file it finds later that this run did not is a new input
    inputs = [ws.path(p) for p in sources.inputs]
    argv = ["docs", "--date", date]
    group = artifact_group(ws, COMBINED)
    for artifact in (summary_path, plan_path):
        lineage.record(ws, group, artifact, argv, inputs=inputs)
    return DocsOutcome(date, entries, summary_path, plan_path)

"""A diff of two report files: find the base, check they compare, write the JSON and Markdown, record lineage.

`write_diff` is `drumgate diff` without its command line (`drumgate.cli.diff` is the adapter). The
outputs default to `reports/diffs/<ds>_<base>_to_<head>.{json,md}`; a base of `auto` is the newest
earlier dated report of the head's dataset and kind.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.artifacts import HEALTH_DIR, SAMPLING_DIR, diff_report
from drumgate.errors import DrumgateError, shown_path
from drumgate.io import parts
from drumgate.io.fsutil import write_together
from drumgate.io.jsonio import document_bytes
from drumgate.reports.diffing import check_diffable, diff_reports, render_diff_markdown
from drumgate.reports.report_io import artifact_group, inside, read_report, record_lineage, refuse_scratch_run
from drumgate.workspace import COMBINED, Workspace

DATED_STEM = re.compile(r"^(?P<prefix>.+)_(?P<date>\d{8})$")
AUTO_BASELINE = "auto"


@dataclass(frozen=True)
class ReportFile:
    path: Path
    report: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.report.get("kind"))

    @property
    def dataset(self) -> str:
        return str(self.report.get("dataset"))

    @property
    def date(self) -> str | None:
        match = DATED_STEM.match(self.path.name.removesuffix(".json"))
        return match.group("date") if match else None

    @property
    def label(self) -> str:
        """The date, or the file stem; no `_`, so `<ds>_<base>_to_<head>` still parses."""
        text = self.date or self.path.name.removesuffix(".json")
        text = re.sub(r"[^0-9A-Za-z.-]+", "-", text)
        return f"weights-{text}" if self.kind == "weights" else text


@dataclass(frozen=True)
class DiffOutcome:
    diff: dict[str, Any]
    title: str
    json_output: Path
    markdown_output: Path


def load_report(path: Path) -> ReportFile:
    return ReportFile(path, read_report(path))


def report_folder(ws: Workspace, kind: str) -> Path:
    return ws.root / (SAMPLING_DIR if kind == "weights" else HEALTH_DIR)


def dated_prefix(dataset: str, kind: str) -> str:
    if kind == "weights":
        return f"{dataset}_weights"
    return f"{COMBINED}_health" if dataset == COMBINED else dataset


def auto_baseline(ws: Workspace, head: ReportFile) -> Path:
    """The newest `<prefix>_<YYYYMMDD>.json` dated before HEAD, of HEAD's dataset and kind."""
    if head.date is None:
        raise DrumgateError(
            "--baseline auto needs a dated HEAD report (<ds>_<YYYYMMDD>.json)", path=head.path, hint="name a base file"
        )
    candidates = [(date, path) for date, path in dated_reports(ws, head) if date < head.date]
    if not candidates:
        raise DrumgateError(
            f"no {head.kind} report of {head.dataset} dated before {head.date}",
            path=report_folder(ws, head.kind),
            hint=no_base_fix(ws, head),
        )
    return max(candidates)[1]


def dated_reports(ws: Workspace, head: ReportFile) -> list[tuple[str, Path]]:
    """(date, path) of every `<prefix>_<YYYYMMDD>.json` of HEAD's dataset and kind, HEAD's own included."""
    prefix = dated_prefix(head.dataset, head.kind)
    found = []
    for path in report_folder(ws, head.kind).glob(f"{prefix}_*.json"):
        match = DATED_STEM.match(path.name.removesuffix(".json"))
        if match and match.group("prefix") == prefix:
            found.append((match.group("date"), path))
    return sorted(found)


def no_base_fix(ws: Workspace, head: ReportFile) -> str:
    """For a HEAD no report is dated before: the diff from it to the next one when there is one; else
    the command HEAD was written with, dated the day before, which writes a base to diff against."""
    here = [] if ws.contains(Path.cwd()) else ["--workspace", str(ws.root)]
    later = [path for date, path in dated_reports(ws, head) if head.date is not None and date > head.date]
    if later:
        return f"fix: {shlex.join(['drumgate', *here, 'diff', str(shown_path(head.path)), str(shown_path(later[0]))])}"
    try:
        day = (dt.datetime.strptime(str(head.date), "%Y%m%d").date() - dt.timedelta(days=1)).isoformat()
    except ValueError:
        return f"fix: rename {shlex.quote(str(shown_path(head.path)))} to its real date (<ds>_<YYYYMMDD>.json)"
    base = report_folder(ws, head.kind) / f"{dated_prefix(head.dataset, head.kind)}_{day.replace('-', '')}.json"
    # the outputs are the base's (HEAD's, spelled out, would be overwritten), every path typed from here
    renamed = {ws.rel(head.path): base, ws.rel(head.path.with_suffix(".html")): base.with_suffix(".html")}
    argv, words = _recorded_argv(ws, head) or _fresh_argv(ws, head), []
    for flag, word in zip(["", *argv], argv, strict=False):
        if flag == "--date" or word == "--date":
            continue
        words.append(str(shown_path(renamed.get(word) or ws.path(word))) if flag in PATH_FLAGS else word)
    events = words[words.index("--events") + 1] if "--events" in words[:-1] else None
    ingest = "" if events is None or parts.resolve(ws.user_path(events)).exists() else (
        f"drumgate ingest {head.dataset}, then ")
    return f"fix: {ingest}{shlex.join(['drumgate', *here, *words, '--date', day])}"


PATH_FLAGS = frozenset({"--events", "--sessions", "--provenance", "--output", "--html-output"})


def _recorded_argv(ws: Workspace, head: ReportFile) -> list[str] | None:
    """The health or weights command the lock records for HEAD, without `drumgate`."""
    from drumgate.restore import recorded_command

    try:
        command = recorded_command(ws, artifact_group(ws, head.dataset), ws.rel(head.path))
    except DrumgateError:  # a dataset no longer configured
        return None
    words = shlex.split(command) if command else []
    return words[1:] if words[1:2] in (["health"], ["weights"]) and "--events" in words else None


def _fresh_argv(ws: Workspace, head: ReportFile) -> list[str]:
    """A health or weights command on the dataset's events manifest (HEAD's source, when it names one)."""
    if head.dataset == COMBINED:
        return ["combine"]
    source = head.report.get("source")
    events = source.get("events") if isinstance(source, dict) else None
    events = events if isinstance(events, str) else ws.rel(ws.events_manifest(head.dataset))
    return [head.kind, "--events", events, "--dataset", head.dataset]


def resolve_pair(ws: Workspace, reports: Sequence[Path], baseline: str | None) -> tuple[ReportFile, ReportFile]:
    """(base, head) from `BASE HEAD`, or from `HEAD` with a baseline file or `auto`."""
    paths = [ws.user_path(p) for p in reports]
    if baseline is None:
        if len(paths) != 2:
            raise DrumgateError("give BASE.json and HEAD.json, or --baseline auto HEAD.json")
        return load_report(paths[0]), load_report(paths[1])
    if len(paths) != 1:
        raise DrumgateError("with --baseline give only HEAD.json")
    head = load_report(paths[0])
    base_path = auto_baseline(ws, head) if baseline == AUTO_BASELINE else ws.user_path(baseline)
    return load_report(base_path), head


def default_output(ws: Workspace, base: ReportFile, head: ReportFile, ext: str) -> Path:
    """`reports/diffs/<ds>_<base>_to_<head>.<ext>`, the registry's name for this diff."""
    return ws.path(diff_report(head.dataset, base.label, head.label, ext))


def regressions(diff: dict[str, Any]) -> list[str]:
    flipped = diff["summary"].get("gates", {}).get("flipped", [])
    return [
        f"{gate['name']}: now fails (observed {gate['head_observed']} vs threshold {gate['threshold']}, "
        f"was {gate['base_observed']})"
        for gate in flipped
        if gate["head_status"] == "fail"
    ]


def _record(ws: Workspace, dataset: str, outputs: Sequence[Path], argv: list[str], inputs: list[Path]) -> None:
    if not all(inside(ws, path) for path in outputs):
        return
    record_lineage(ws, dataset, outputs, argv, inputs)


def write_diff(
    ws: Workspace,
    base: ReportFile,
    head: ReportFile,
    *,
    json_output: Path | None = None,
    markdown_output: Path | None = None,
    title: str | None = None,
    command: Sequence[str] = (),
) -> DiffOutcome:
    """Diff `base` against `head`, write both outputs and, when they are in the workspace, their lock entries
    (a report outside it may not be written inside: refused with the typed `command` writing beside it)."""
    try:
        check_diffable(base.report, head.report)
    except DrumgateError as err:
        err.path = err.path or head.path
        raise
    if base.dataset != head.dataset:  # it was written, and linked by docs, as the head dataset's history
        pair = " ".join(shlex.quote(ws.rel(report.path)) for report in (base, head))
        raise DrumgateError(f"a diff is one dataset over time: this base is {base.dataset}'s report and this head"
                            f" {head.dataset}'s", path=head.path, hint=f"fix: drumgate compare {pair}")
    diff = diff_reports(base.report, head.report)
    diff["inputs"] = {"base": ws.rel(base.path), "head": ws.rel(head.path)}
    json_out = ws.user_path(json_output) if json_output else default_output(ws, base, head, "json")
    md_out = ws.user_path(markdown_output) if markdown_output else default_output(ws, base, head, "md")
    refuse_scratch_run(ws, command, [base.path, head.path], {"--json-output": (json_output, json_out),
                                                             "--markdown-output": (markdown_output, md_out)}, "diff")
    heading = title or f"{head.dataset} {head.kind}: {base.date or base.label} → {head.date or head.label}"
    markdown = render_diff_markdown(diff, heading).rstrip("\n") + "\n"
    write_together([("--json-output", json_out, document_bytes(diff, json_out)),
                    ("--markdown-output", md_out, markdown.encode("utf-8"))], [base.path, head.path])
    argv = ["diff", ws.rel(base.path), ws.rel(head.path), "--json-output", ws.rel(json_out),
            "--markdown-output", ws.rel(md_out)]
    if title:
        argv += ["--title", title]
    _record(ws, head.dataset, [json_out, md_out], argv, [base.path, head.path])
    return DiffOutcome(diff, heading, json_out, md_out)

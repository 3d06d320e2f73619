"""A health report from manifests on disk: find the inputs, count, write the JSON and HTML, record lineage.

`write_health` is `drumgate health` without its command line (`drumgate.cli.health` is the adapter):
paths are the ones a user typed (relative to the current folder), the rest plain values. A plain or
gzip `.jsonl` file is counted by DuckDB when that is exact (`drumgate.reports.health_scan`).
Malformed rows of any input are collected, not raised: with any of them nothing is written and the
caller prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from drumgate import lineage
from drumgate.errors import DrumgateError
from drumgate.io import parts, scanmemo
from drumgate.io.fsutil import look_around, require_writable, write_together
from drumgate.io.jsonio import document_bytes, iter_jsonl
from drumgate.io.statcache import workspace_cache_path
from drumgate.lineage import grouplock
from drumgate.lineage.provenance import report_date
from drumgate.reports.gates import HealthConfig, known_name_fix, load_health_config, merge_gates
from drumgate.reports.health import compute_health
from drumgate.reports.health_counts import EventCounts
from drumgate.reports.health_scan import count_events_file
from drumgate.reports.health_sessions import SessionFacts, read_session_facts, read_source_hashes
from drumgate.reports.report_io import (
    ErrorCollector,
    artifact_group,
    existing_events,
    infer_dataset,
    parse_requirement,
    record_lineage,
    refuse_another_datasets,
    scratch_run,
    session_rows,
    sibling_sessions,
)
from drumgate.workspace import Workspace

if TYPE_CHECKING:
    from drumgate.reports.health_duckdb import EarlyCount


@dataclass(frozen=True)
class HealthRequest:
    """What `drumgate health` was asked for; None means the default the command documents."""

    events: Path
    sessions: Path | None = None
    provenance: Path | None = None
    dataset: str | None = None
    output: Path | None = None
    html_output: Path | None = None
    require_class: Sequence[str] = ()
    require_technique: Sequence[str] = ()
    vocabulary: str | None = None
    date: str | None = None
    command: Sequence[str] = ()  # the words typed, which a fix retypes with what they lacked


@dataclass(frozen=True)
class HealthPlan:
    """The request with every default worked out: absolute input and output paths, dataset, date."""

    events: Path
    dataset: str
    sessions: Path | None
    provenance: Path | None
    date: str
    output: Path
    html: Path


@dataclass
class HealthOutcome:
    """The report (None when input rows were malformed, and then nothing was written) and the row errors."""

    plan: HealthPlan
    report: dict[str, Any] | None
    collectors: list[ErrorCollector | None] = field(default_factory=list)


def sibling_provenance(events: Path, dataset: str) -> Path | None:
    """`data/provenance/<ds>_provenance.jsonl` beside `data/manifests/<events>` as it is stored (its
    `.jsonl.gz` or partitioned form too, as `combine` finds it), when it exists."""
    return parts.stored(events.parent.parent / "provenance" / f"{dataset}_provenance.jsonl")


def plan_health(ws: Workspace, request: HealthRequest) -> HealthPlan:
    events = existing_events(ws, request.events)
    date = report_date(request.date)
    typed = [events, *(ws.user_path(path) if path else None for path in (request.sessions, request.provenance))]
    outputs = {"--output": request.output, "--html-output": request.html_output}
    scratch = scratch_run(ws, request.command, typed, outputs, {"--output": f"health_{date.strftime('%Y%m%d')}.json"})
    # a dataset fix carries the outputs the scratch refusal would ask for: it works as printed at once
    dataset = infer_dataset(events, request.dataset, ws, scratch.command if scratch else request.command)
    sessions = ws.user_path(request.sessions) if request.sessions else sibling_sessions(events, dataset)
    for path in (events, sessions):
        refuse_another_datasets(ws, path, dataset, "health")
    output = ws.user_path(request.output) if request.output else ws.health_report(dataset, date.strftime("%Y%m%d"))
    html = ws.user_path(request.html_output) if request.html_output else output.with_suffix(".html")
    if scratch is not None:
        raise scratch.refusal(ws, output if ws.contains(output) else html)
    provenance = ws.user_path(request.provenance) if request.provenance else sibling_provenance(events, dataset)
    return HealthPlan(events, dataset, sessions, provenance, date.isoformat(), output, html)


def regenerate_argv(ws: Workspace, request: HealthRequest, plan: HealthPlan) -> list[str]:
    """The `drumgate health` words that rebuild these outputs, every default spelled out."""
    argv = ["health", "--events", ws.rel(plan.events), "--dataset", plan.dataset]
    if plan.sessions is not None:
        argv += ["--sessions", ws.rel(plan.sessions)]
    if plan.provenance is not None:
        argv += ["--provenance", ws.rel(plan.provenance)]
    argv += ["--output", ws.rel(plan.output), "--html-output", ws.rel(plan.html), "--date", plan.date]
    for value in request.require_class:
        argv += ["--require-class", value]
    for value in request.require_technique:
        argv += ["--require-technique", value]
    if request.vocabulary:
        argv += ["--vocabulary", request.vocabulary]
    return argv


def _requirements(values: Sequence[str], flag: str) -> dict[str, int]:
    return dict(parse_requirement(value, flag) for value in values)


T = TypeVar("T")


def _remembered(folder: Path, kind: str, compute: Callable[[], T], encode: Callable[[T], Any],
                decode: Callable[[Any], T], sink: ErrorCollector | None) -> T:
    """What health takes from a partitioned folder, remembered by the sha256 of its index (which pins
    every part, each checked here first, so a memo never hides an edit): E-GMD's 45,537 sessions and
    provenance rows are read once per content, not on every run (0.7 s of a 0.9 s run at full shape).
    Nothing is remembered from a folder with malformed rows."""
    parts.verify(folder, hash_parts=True)
    digest = lineage.fingerprint(folder)
    kept = scanmemo.load_document(kind, digest)
    if kept is not None:
        try:
            return decode(kept)
        except (KeyError, TypeError, AttributeError):
            pass  # a memo from another version: counted again below
    found = compute()
    if sink is None or not sink.errors:
        scanmemo.save_document(kind, digest, encode(found))
    return found


def _session_facts(sessions: Path | None, sink: ErrorCollector | None) -> SessionFacts:
    """The facts health takes from the sessions inventory, read now (while the events are counted);
    a partitioned folder's are remembered."""
    folder = parts.resolve(sessions) if sessions is not None else None
    if folder is None or not folder.is_dir():
        return read_session_facts(session_rows(sessions, sink))
    return _remembered(folder, "session-facts", lambda: read_session_facts(session_rows(folder, sink)),
                       SessionFacts.as_json, SessionFacts.from_json, sink)


def _source_hashes(ws: Workspace, provenance: Path | None, sink: ErrorCollector | None) -> dict[str, set[str]] | None:
    """The provenance's source-file hashes (a partitioned folder's remembered)."""
    if provenance is None:
        return None
    folder = parts.resolve(provenance)

    def read() -> dict[str, set[str]]:
        return read_source_hashes(iter_jsonl(folder, on_error=sink), ws.rel(provenance))

    if not folder.is_dir():
        return read()
    return _remembered(folder, "source-hashes", read,
                       lambda found: {key: sorted(owners) for key, owners in found.items()},
                       lambda kept: {key: set(owners) for key, owners in kept.items()}, sink)


def _counted(events: Path, sink: ErrorCollector, early: EarlyCount | None) -> EventCounts:
    """The events' counts: the early count's when it is of this file as it is now, else counted here."""
    if early is None or not early.usable_for(events):
        if early is not None:
            early.stop()  # of a file since replaced: not two full scans at once
        return count_events_file(events, on_error=sink)
    counted = early.result()
    if counted is None and early.stopped:
        raise DrumgateError("the count was stopped")  # the command is failing: nobody reads this
    return counted if counted is not None else count_events_file(events, on_error=sink, use_duckdb=False)


@dataclass(frozen=True)
class Checked:
    """What the request asks beyond the events, checked before any counting starts."""

    config: HealthConfig
    class_gates: dict[str, int]
    technique_gates: dict[str, int]


def _check_request(ws: Workspace, request: HealthRequest, plan: HealthPlan) -> Checked:
    """The configs, the extra gates and the vocabulary, and that typed inputs exist: a mistake here is
    worded before a count of a big file starts (the command would wait for it to fail)."""
    for typed, path in ((request.sessions, plan.sessions), (request.provenance, plan.provenance)):
        if typed is not None and path is not None and not parts.resolve(path).exists():
            raise DrumgateError("file not found", path=path, hint=look_around(path))
    config = load_health_config(ws, plan.dataset)
    class_gates = _requirements(request.require_class, "--require-class")
    technique_gates = _requirements(request.require_technique, "--require-technique")
    merge_gates(config.gates, config.taxonomy, class_gates, technique_gates)  # names each unknown one
    if request.vocabulary:
        try:
            config.taxonomy.vocabulary(request.vocabulary)
        except DrumgateError as err:
            err.hint = known_name_fix("--vocabulary", request.vocabulary, config.taxonomy.vocabularies)
            raise
    return Checked(config, class_gates, technique_gates)


def write_health(ws: Workspace, request: HealthRequest, early: EarlyCount | None = None) -> HealthOutcome:
    """Count the events, write `<output>.json` and its HTML page, and record both in the group's lock.
    `early` is a DuckDB count the command started before its own start-up work (`cli.health`)."""
    plan = plan_health(ws, request)
    grouplock.hold(ws, [artifact_group(ws, plan.dataset)])
    checked = _check_request(ws, request, plan)
    events_errors = ErrorCollector(plan.events, ws)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # DuckDB's count and hashlib both release the GIL: the lineage fingerprint of the events (a
        # full read of a big file, unless its stat is remembered) and the count run beside each other
        # and beside the other inputs' reading and the page template's loading on this thread
        fingerprint = pool.submit(lineage.fingerprint, plan.events, workspace_cache_path(ws))
        counts = pool.submit(_counted, plan.events, events_errors, early)
        try:
            return _write_health(ws, request, plan, checked, events_errors, counts, fingerprint)
        except BaseException:
            if early is not None:
                early.stop()  # leaving the pool waits for its count: not for a whole file's
            raise


def _write_health(ws: Workspace, request: HealthRequest, plan: HealthPlan, checked: Checked,
                  events_errors: ErrorCollector, counts: Future[EventCounts], fingerprint: Future[str]
                  ) -> HealthOutcome:
    from drumgate.render.html_report import health_template, render_health_html

    sessions_errors = ErrorCollector(plan.sessions, ws) if plan.sessions else None
    provenance_errors = ErrorCollector(plan.provenance, ws) if plan.provenance else None
    source_hashes = _source_hashes(ws, plan.provenance, provenance_errors)
    session_facts = _session_facts(plan.sessions, sessions_errors)
    health_template()
    report = compute_health(
        checked.config,
        counts.result(),
        session_facts,
        vocabulary=request.vocabulary,
        extra_class_gates=checked.class_gates,
        extra_technique_gates=checked.technique_gates,
        source={"events": ws.rel(plan.events), "sessions": ws.rel(plan.sessions) if plan.sessions else None},
        on_error=events_errors,
        source_hashes=source_hashes,
    )
    collectors = [events_errors, sessions_errors, provenance_errors]
    if any(collector is not None and collector.errors for collector in collectors):
        return HealthOutcome(plan, None, collectors)
    require_writable([plan.output, plan.html, ws.lock_file(artifact_group(ws, plan.dataset))])
    inputs = [plan.events, *(path for path in (plan.sessions, plan.provenance) if path)]
    page = render_health_html(report, date=plan.date).rstrip("\n") + "\n"
    write_together([("--output", plan.output, document_bytes(report, plan.output)),
                    ("--html-output", plan.html, page.encode("utf-8"))], inputs)
    argv = regenerate_argv(ws, request, plan)
    known = {plan.events: fingerprint.result()}
    record_lineage(ws, plan.dataset, [plan.output, plan.html], argv, inputs, known=known)
    return HealthOutcome(plan, report, collectors)

"""Sampling weights from manifests on disk: find the inputs, weigh, write the JSON, record lineage.

`write_weights` is `drumgate weights` without its command line (`drumgate.cli.weights` is the
adapter): paths are the ones a user typed, the rest plain values. Malformed rows are collected, not
raised: with any of them nothing is written and the caller prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.io import parts
from drumgate.io.fsutil import require_writable
from drumgate.io.jsonio import iter_jsonl, write_json
from drumgate.lineage import grouplock
from drumgate.lineage.provenance import report_date
from drumgate.progress import progress
from drumgate.reports.part_counts import ExcerptKey, add_pairs, excerpt_pairs
from drumgate.reports.report_io import (
    ErrorCollector,
    artifact_group,
    existing_events,
    infer_dataset,
    record_lineage,
    refuse_another_datasets,
    scratch_run,
    session_rows,
    sibling_sessions,
)
from drumgate.reports.weights import DEFAULT_BETA, compute_weights
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace

DEFAULT_SCHEME = "effective"
DEFAULT_QUOTA = "equal"
GROUP_BY = "session_id"


@dataclass(frozen=True)
class WeightsRequest:
    """What `drumgate weights` was asked for; None means the default the command documents."""

    events: Path
    scheme: str = DEFAULT_SCHEME
    beta: float = DEFAULT_BETA
    quota: str = DEFAULT_QUOTA
    group_by: str = GROUP_BY
    sessions: Path | None = None
    dataset: str | None = None
    output: Path | None = None
    date: str | None = None
    command: tuple[str, ...] = ()  # the words typed, which a fix retypes with what they lacked


@dataclass
class WeightsOutcome:
    """The weights document (None when input rows were malformed, and nothing was written)."""

    dataset: str
    output: str
    document: dict[str, Any] | None
    collectors: list[ErrorCollector | None] = field(default_factory=list)
    unknown: dict[str, int] = field(default_factory=dict)  # events per label the taxonomy does not know
    events: str = ""  # the events manifest, workspace-relative
    group: str = ""  # its artifact group


def regenerate_argv(request: WeightsRequest, rel: dict[str, str | None], dataset: str, date: str) -> list[str]:
    """The `drumgate weights` words that rebuild the output, every default spelled out."""
    argv = ["weights", "--events", str(rel["events"]), "--group-by", request.group_by, "--scheme", request.scheme]
    if request.scheme == "effective":
        argv += ["--beta", repr(request.beta)]
    argv += ["--quota", request.quota, "--dataset", dataset]
    if rel["sessions"]:
        argv += ["--sessions", rel["sessions"]]
    return [*argv, "--output", str(rel["output"]), "--date", date]


def folder_excerpts(folder: Path, errors: ErrorCollector) -> dict[ExcerptKey, int]:
    """A partitioned manifest's events per (session, item, label, split), one per render-hit, from its stored
    rows weighted by the renders that play them (drumgate.reports.part_counts), each part checked
    against its sha256: what counting `drumgate.events.read` row by row gives, at 1/43 of the reads."""
    counts: dict[ExcerptKey, int] = {}
    for entry, rows, renders in progress(parts.stored_parts(folder, errors), f"weights {folder.name}", "part"):
        add_pairs(counts, excerpt_pairs(enumerate(rows, 1), renders, folder / entry["file"], errors))
    return counts


def write_weights(ws: Workspace, request: WeightsRequest) -> WeightsOutcome:
    """Weigh the events' sessions, write the weights document and record it in the group's lock."""
    events = existing_events(ws, request.events)
    date = report_date(request.date)
    typed = [events, ws.user_path(request.sessions) if request.sessions else None]
    scratch = scratch_run(ws, request.command, typed, {"--output": request.output},
                          {"--output": f"weights_{date.strftime('%Y%m%d')}.json"})
    dataset = infer_dataset(events, request.dataset, ws, scratch.command if scratch else request.command)
    grouplock.hold(ws, [artifact_group(ws, dataset)])
    sessions = ws.user_path(request.sessions) if request.sessions else sibling_sessions(events, dataset)
    for path in (events, sessions):
        refuse_another_datasets(ws, path, dataset, "weights")
    output = ws.user_path(request.output) if request.output else ws.weights_report(dataset, date.strftime("%Y%m%d"))
    if scratch is not None:
        raise scratch.refusal(ws, output)
    rel = {"events": ws.rel(events), "sessions": ws.rel(sessions) if sessions else None, "output": ws.rel(output)}
    errors = ErrorCollector(events, ws)
    session_errors = ErrorCollector(sessions, ws) if sessions else None
    unknown: dict[str, int] = {}
    document = compute_weights(
        load_taxonomy(ws),
        dataset,
        folder_excerpts(parts.resolve(events), errors) if parts.resolve(events).is_dir() else progress(
            iter_jsonl(events, on_error=errors), f"weights {dataset}", "event"),
        session_rows(sessions, session_errors),
        scheme=request.scheme,
        beta=request.beta,
        quota=request.quota,
        source={"events": rel["events"], "sessions": rel["sessions"]},
        on_error=errors,
        unknown=unknown,
    )
    collectors = [errors, session_errors]
    if any(collector is not None and collector.errors for collector in collectors):
        return WeightsOutcome(dataset, rel["output"], None, collectors)
    require_writable([output, ws.lock_file(artifact_group(ws, dataset))])
    write_json(output, document)
    argv = regenerate_argv(request, rel, dataset, date.isoformat())
    record_lineage(ws, dataset, output, argv, [events, *([sessions] if sessions else [])])
    return WeightsOutcome(dataset, rel["output"], document, collectors, unknown, str(rel["events"]),
                          artifact_group(ws, dataset))

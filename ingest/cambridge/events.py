"""Cambridge close-mic stems to derived drum-hit events: `drumgate events cambridge [--output FILE]`.

Per session of the inventory (`data/manifests/cambridge_sessions.jsonl`): onsets on every
close-mic and `*Sample` stem (`drumgate.signal.onsets`, parameters per class in `configs/onsets.json`);
bleed suppression across the session's close mics (`ingest.cambridge.bleed`: an onset is kept when its
attack, weighted by the spectral shape of the stem's own hits and relative to the stem's own
level, stands clear of what the other instruments' simultaneous attacks leak into it); velocity
from level; ghost and accent from level relative to the stem's typical hit; flam from a close
double onset; open or closed hi-hat from the ring after the hit. Overhead and room stems only add
cymbal candidates (crash-family variant from the config, dual label from the crash map) at lower
confidence, where the high band that sustains after an onset is not explained by the close mics
and rings on. Every threshold lives in `configs/cambridge_events.json` (schema-validated).
Every event is `label_source: derived` with a confidence. It writes `data/manifests/cambridge_events.jsonl`,
or, when the sessions manifest it reads is a folder of parts (`ingest cambridge --layout parts`), the
folder `data/manifests/cambridge_events/` of one `*.jsonl.gz` part per session, rewriting only the parts
whose rows changed; `--layout file|parts` overrides that choice and a run removes the other form.
A run that derives no event from its online sessions while the manifest it replaces holds theirs
writes nothing and exits 1, unless `--allow-empty` (recorded in the lock's command) says none is right.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate import lineage
from drumgate.config import DatasetConfig, load_datasets
from drumgate.errors import EXIT_FINDINGS, DrumgateError
from drumgate.io import parts
from drumgate.io.jsonio import iter_jsonl, write_jsonl
from drumgate.io.parts.layout import wants_parts
from drumgate.lineage import grouplock
from drumgate.progress import progress
from drumgate.reports.report_io import refuse_scratch_run
from drumgate.signal.onsets import OnsetParams
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import Workspace
from ingest import contract_parts
from ingest.cambridge.event_settings import EventSettings, load_event_settings
from ingest.cambridge.onset_events import derive_events
from ingest.cambridge.sessions import DATASET
from ingest.cambridge.stem_reader import onset_params_by_class, read_session_stems

EVENT_CONFIGS = ("onsets.json", "cambridge_events.json", "technique_taxonomy.json", "crash_dual_label.json")


def session_events(
    config: DatasetConfig,
    row: dict[str, Any],
    taxonomy: Taxonomy,
    params: dict[str, OnsetParams],
    problems: list[str],
    settings: EventSettings,
) -> list[dict[str, Any]]:
    stems, ambient = read_session_stems(config, row, params, problems)
    return derive_events(row, stems, ambient, taxonomy, settings)


def _committed_events(ws: Workspace, session_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The committed manifest's events (file or folder) of the offline sessions `session_ids`. Of a
    folder only those sessions' parts are read: an edited part of an online session is written again
    by this run, not a refusal whose fix (this run) refused again."""
    path = ws.events_manifest(DATASET)
    grouped: dict[str, list[dict[str, Any]]] = {}
    if not session_ids:
        return grouped
    if path.exists():
        rows: Iterable[dict[str, Any]] = (row for _, row in iter_jsonl(path))
    elif parts.is_partitioned(path):
        rows = _offline_part_rows(ws, parts.folder_of(path), session_ids)
    else:
        return grouped
    for row in rows:
        if row.get("session_id", "") in session_ids:
            grouped.setdefault(row.get("session_id", ""), []).append(row)
    return grouped


def _offline_part_rows(ws: Workspace, folder: Path, session_ids: set[str]) -> Iterator[dict[str, Any]]:
    """The rows of the parts of `session_ids` (parts are cut by session), each checked against the
    index; a damaged one can only come back from git, or from its tier mounted again."""
    from drumgate.git import restorable, restore_command

    for entry in parts.read_index(folder)["parts"]:
        if entry["key"] not in session_ids:
            continue
        try:
            yield from (row for _, row in parts.read_part(folder, entry["file"], entry["sha256"]))
        except DrumgateError as err:
            relative = ws.rel(folder / entry["file"])
            mount = f"mount the tier that holds session {entry['key']}, then drumgate repro {DATASET}"
            err.hint = (f"fix: {restore_command(relative, root=ws.root)} to restore it, or {mount}"
                        if restorable(ws.root, relative) else f"fix: {mount}")
            raise


def _write_events(ws: Workspace, group: str, output: Path, rows: list[dict[str, Any]], as_parts: bool) -> Path:
    """`rows` (sorted by session) as the single file `output` or its folder of per-session parts; the
    other form goes, and the lock forgets it. What was written: the file or the folder."""
    if as_parts:
        grouped = contract_parts.SessionParts(["events"])
        grouped.add("events", rows)
        grouped.write({"events": output}, DATASET)
        written = parts.folder_of(output)
    else:
        write_jsonl(output, rows)
        contract_parts.drop_folders([output])
        written = output
    contract_parts.forget_other_form(ws, group, [output], as_parts)
    return written


@dataclass
class EventsRun:
    """What one `events cambridge` run wrote: the manifest, its events per class, the offline sessions
    with the events carried forward for each, and the stems it could not read."""

    output: Path
    events: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    offline_sessions: list[tuple[str, int]] = field(default_factory=list)  # in inventory order
    problems: list[str] = field(default_factory=list)


def _refuse_emptying(ws: Workspace, target: Path, derived: int, skipped: set[str], problems: list[str]) -> None:
    """Refuse (exit 1, before anything is replaced) a run that derived no event from its online sessions
    while the manifest it replaces holds some of theirs: a config that finds no hit (fmin above the
    stems' band, a stem-name rule that names no drum) would otherwise empty it in silence."""
    stored = parts.stored(target)
    if derived or stored is None:
        return
    try:
        lost = sum(1 for _, row in iter_jsonl(stored, on_error=lambda *_: None) if row.get("session_id") not in skipped)
    except DrumgateError:
        lost = None  # unreadable is not provably empty: keep it rather than replace it
    if lost == 0:
        return
    unreadable = f", {len(problems)} stem(s) unreadable" if problems else ""
    raise DrumgateError(
        f"refusing to replace its {'' if lost is None else f'{lost} '}events of online sessions with none"
        f" (this run derived no event{unreadable}); nothing written",
        path=ws.rel(stored),
        hint="fix: correct configs/onsets.json or configs/cambridge_events.json, or configs/stem_names.json and rerun"
        " drumgate ingest cambridge; or pass --allow-empty if no events is right",
        exit_code=EXIT_FINDINGS,
    )


def write_session_events(
    ws: Workspace,
    sessions: str | None = None,
    output: str | None = None,
    layout: str = "auto",
    allow_empty: bool = False,
    command: Sequence[str] = (),
) -> EventsRun:
    """Derive the events of every session of the inventory (paths as typed; default: the workspace's
    manifests), carry an offline tier's sessions' events forward, write them and record the lineage.
    `layout` auto writes parts when the inventory read is itself a folder of parts; without
    `allow_empty`, no event derived never replaces the online sessions' events. An inventory outside the
    workspace may not make the workspace's manifest: refused with the typed `command` writing beside it."""
    config = load_datasets(ws).get(DATASET)
    grouplock.hold(ws, [config.group])
    taxonomy = load_taxonomy(ws)
    sessions_path = ws.user_path(sessions) if sessions else ws.sessions_manifest(DATASET)
    output_path = ws.user_path(output) if output else ws.events_manifest(DATASET)
    refuse_scratch_run(ws, command, [sessions_path], {"--output": (output, output_path)}, "events")
    as_parts = wants_parts(layout, 0, None, parts.is_partitioned(sessions_path))  # auto: as the inventory is
    params = onset_params_by_class(ws, taxonomy)
    settings = load_event_settings(ws, taxonomy)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for _, session in progress(iter_jsonl(sessions_path), "cambridge events", "session"):
        if session.get("status") == "tier_offline" or not config.root(session["tier"]).online:
            skipped.append(session["session_id"])
            continue
        rows.extend(session_events(config, session, taxonomy, params, problems, settings))
    if not allow_empty:
        _refuse_emptying(ws, output_path, len(rows), set(skipped), problems)
    committed = _committed_events(ws, set(skipped))
    for session_id in skipped:
        rows.extend(committed.get(session_id, []))
    rows.sort(key=lambda r: (r["session_id"], r["onset_s"], r["label"], r["item_id"]))
    written = _write_events(ws, config.group, output_path, rows, as_parts)
    argv = ["events", "cambridge"]
    if sessions:
        argv += ["--sessions", ws.rel(sessions_path)]
    if output:
        argv += ["--output", ws.rel(output_path)]
    if layout != "auto":
        argv += ["--layout", layout]
    if allow_empty:
        argv.append("--allow-empty")
    inputs = [parts.lock_path(parts.resolve(sessions_path)), *(ws.configs / name for name in EVENT_CONFIGS)]
    lineage.record(ws, config.group, parts.lock_path(written), argv, inputs=inputs)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    offline = [(session_id, len(committed.get(session_id, []))) for session_id in skipped]
    return EventsRun(written, len(rows), dict(sorted(counts.items())), offline, problems)

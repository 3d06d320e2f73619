"""`drumgate repro [GROUP...] [--dry-run] [--date D]`: bring every artifact up to date (DESIGN §8).

Like `dvc repro`, from the locks in `data/locks/`: the steps run in dependency order

    ingest -> events -> checksums -> crash-map -> health, weights -> diff, compare -> combine -> docs

(a new dated health report is diffed against the one before it, so the docs show the day's change)

and each runs at most once (`--skip-raw` leaves out the first three, for a workflow that ran them as
shards). Raw corpora are not in git, so the lock cannot tell whether they changed: the steps that
read them (the recorded `ingest`/`events` commands and `checksums generate --update`, with the
`--root` the ingest recorded; a recorded dry run's inventory only when the lock says it is stale)
always run; they are deterministic, so unchanged raw data rewrites nothing. Every later step runs
only when its artifact is missing or the lock says it is stale at that moment, that is after the
steps before it have run. New reports carry today's date (or `--date`), never the date of the report
they replace; an ingest keeps its recorded `--date` unless the raw data it read changed (the
path and sha256 of every source file its provenance names). A report edited by hand, or written to
a path of its own (`--html-output reports/health/<ds>.html`), is written again by its own recorded
command, before anything reads it.

Exit 0 when every step ran (a failed readiness gate is a finding of the report, not of repro),
1 when a step that reads raw data reported findings or a dataset's lock is gone while its manifests
are there (its recorded commands are lost: restore the lock or ingest again), 2 when a step could
not run. Lock entries naming files outside the workspace (older drumgate versions) are dropped.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from drumgate import lineage
from drumgate.artifacts import (
    DERIVED_EVENTS,
    DIFFS_DIR,
    PROVENANCE_FROM_CHECKSUMS,
    combined_reference,
    dated_name,
    events_manifest,
    health_report,
    health_reports_of,
    registry,
    weights_reports_of,
)
from drumgate.checksums.roots import recorded_root
from drumgate.commands import repro_step
from drumgate.commands.repro_groups import known_groups
from drumgate.commands.repro_locks import (
    drop_outside_entries,
    ingested,
    made_by,
    newest_recorded,
    newest_report_day,
    option_value,
    problems_made_by,
    problems_of,
    read_checksums,
    recorded_commands,
    recorded_sources,
    sources_read,
    with_option,
    without_lost_report_inputs,
)
from drumgate.commands.repro_retire import lost_locks, retire, retire_combined
from drumgate.config import load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError
from drumgate.git import restore_command
from drumgate.io import parts
from drumgate.io.fsutil import atomic_write_bytes
from drumgate.lineage import HAND_EDITED, MISSING
from drumgate.lineage.moved import retired_groups
from drumgate.lineage.provenance import report_date
from drumgate.reports.combined import mixed_datasets
from drumgate.restore import committed_as_recorded
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace

RAW_STAGES = ("ingest", "events")


@dataclass(frozen=True)
class Step:
    stage: str
    argv: tuple[str, ...]
    reason: str

    @property
    def command(self) -> str:
        return shlex.join(["drumgate", *self.argv])


# ---------------------------------------------------------------- running


def run_step(ws: Workspace, step: Step, stdout: int | None = None) -> int:
    """Run one step as its own `drumgate` process; `stdout` is where its output goes (None: inherited)."""
    print(f"\n== {step.stage}: {step.reason}\n$ {step.command}", flush=True)
    env = {**os.environ, "DRUMGATE_WORKSPACE": str(ws.root)}
    return repro_step.run(step.argv, ws.root, env, stdout)


@dataclass
class Run:
    ws: Workspace
    date: str
    dry_run: bool
    executed: list[tuple[Step, int]]
    planned: list[Step] = field(default_factory=list)
    child_stdout: int | None = None  # where the steps' output goes (stderr while --json holds stdout)
    retired: frozenset[str] = frozenset()  # what retiring a group removes (kept in a dry run): not remade

    def do(self, step: Step) -> int:
        self.planned.append(step)
        if self.dry_run:
            print(f"  {step.command}    # {step.reason}")
            return EXIT_OK
        code = run_step(self.ws, step, self.child_stdout)
        self.executed.append((step, code))
        if code not in (EXIT_OK, EXIT_FINDINGS):
            raise DrumgateError(
                f"step failed with exit {code}: {step.command}", hint="fix the error above, then drumgate repro"
            )
        return code


def raw_steps(run: Run, group: str, dataset: str) -> None:
    """The recorded ingest/events commands, then checksums: they read raw data, so they always run. A
    dataset whose events a command of their own derives (`DERIVED_EVENTS`) gets that command once its
    ingest is recorded and no events manifest is there yet; the lock records it for later runs."""
    derived = DERIVED_EVENTS.get(dataset)
    for stage in RAW_STAGES:
        if stage == "events" and derived and not recorded_commands(run.ws, group, [stage]) \
                and ingested(run.ws, group) and events_path(run.ws, dataset) is None:
            run.do(Step(stage, derived, f"{dataset}: its events are derived by a command of their own"))
            continue
        for argv in recorded_commands(run.ws, group, [stage]):
            if "--dry-run" in argv and not _made_stale(run.ws, group, argv):
                continue  # a dry run's inventory is a preview: written again only when the lock says it is stale
            recorded_date = option_value(argv, "--date")
            dated = not run.dry_run and recorded_date and recorded_date != run.date
            before = sources_read(run.ws, group) if dated else None
            run.do(Step(stage, argv, "reads raw data"))
            # Only new raw data earns a new date: output that changed with the configs (a gate, a
            # taxonomy name, the config hashes in provenance) is the same ingest, and keeps its day.
            if dated and before is not None and sources_read(run.ws, group) != before:
                run.do(Step(stage, with_option(argv, "--date", run.date), "raw data changed: today's ingest date"))
    # the folder an `ingest --root DIR` read, not the configured root: its provenance names those files
    typed = recorded_root(run.ws, load_datasets(run.ws).get(dataset), "raw")
    root = ("--root", typed) if typed else ()
    run.do(Step("checksums", ("checksums", "generate", dataset, *root, "--update"), "hashes the raw tree"))
    if run.dry_run or dataset not in PROVENANCE_FROM_CHECKSUMS:
        return
    # Its provenance takes each file's sha256 from the checksum manifest the step above wrote: the
    # ingest runs again when that manifest changed or its provenance was made without it, so that one
    # repro leaves nothing stale (the checksums read the raw tree, never the provenance).
    for stage in RAW_STAGES:
        for argv in recorded_commands(run.ws, group, [stage]):
            if "--dry-run" not in argv and (_made_stale(run.ws, group, argv)
                                            or (stage == "ingest" and not read_checksums(run.ws, group, dataset))):
                run.do(Step(stage, argv, "reads the checksum manifest just written"))


def events_path(ws: Workspace, dataset: str) -> str | None:
    """The dataset's events manifest as it is stored (a file, its `.gz` form or a partitioned folder)."""
    found = parts.stored(ws.path(events_manifest(dataset)))
    return ws.rel(found) if found is not None else None


def restore_history(run: Run, group: str, problem: lineage.LineageProblem) -> None:
    """An older dated report edited by hand or deleted is taken back from HEAD when HEAD holds what the
    lock records (its own command would rebuild it from today's manifests); else it is left over."""
    committed = committed_as_recorded(run.ws, group, problem.artifact)
    if committed is None:
        return
    reason = f"{problem.artifact}: {problem.message} (history: taken back from HEAD)"
    if run.dry_run:
        print(f"  {restore_command(problem.artifact, root=run.ws.root)}    # {reason}")
        return
    print(f"\n== restore: {reason}\n$ {restore_command(problem.artifact)}", flush=True)
    atomic_write_bytes(run.ws.path(problem.artifact), committed)


def _made_stale(ws: Workspace, group: str, argv: Sequence[str]) -> bool:
    """Whether an artifact this recorded command wrote is stale, missing or edited."""
    return any(tuple(shlex.split(p.command)[1:]) == tuple(argv) for p in problems_of(ws, group, ""))


def report_steps(run: Run, group: str, dataset: str, stage: str) -> None:
    """health or weights for one dataset. A report edited by hand, or one beside the newest (a path
    of its own, such as `--html-output reports/health/<ds>.html`), is written again by its own
    recorded command, first, so that nothing later reads the hand edit; then a new report with
    today's date when the newest is missing or stale."""
    folder = _report_folder(stage, dataset)
    events = events_path(run.ws, dataset)
    if events is None:
        return
    current = newest_recorded(run.ws, group, folder)
    found = problems_of(run.ws, group, "")  # one check of the group: it hashes every artifact and input
    own = _own_command_problems(found, current, stage)
    history = lineage.superseded(lineage.read_lock(run.ws, group)["artifacts"])
    for problem in [p for p in own if p.artifact in history]:
        restore_history(run, group, problem)
    rerun(run, stage, [p for p in own if p.artifact not in history])
    if own and not run.dry_run:  # they wrote files: look again
        found = problems_of(run.ws, group, "")
    problems = [p for p in found if p.artifact.startswith(folder)]
    if run.dry_run:  # nothing ran: what the reruns above would write again is not left over
        rerun_commands = {p.command for p in own}
        problems = [p for p in problems if p.command not in rerun_commands]
    if current is not None and not problems:
        return
    reason = problems[0].message if problems else "missing"
    if stage == "health":
        argv: tuple[str, ...] = ("health", "--events", events, "--date", run.date)
    else:
        argv = ("weights", "--events", events, "--group-by", "session_id", "--scheme", "effective",
                "--date", run.date)
    run.do(Step(stage, argv, f"{dataset}: {reason}"))
    previous = dated_name(current) if current else None
    stamp = run.date.replace("-", "")
    if stage == "health" and previous and previous[1] < stamp:  # the day-over-day diff docs show
        run.do(Step("diff", ("diff", "--baseline", "auto", health_report(dataset, stamp)), f"{dataset}: vs {current}"))


def _own_command_problems(found: Sequence[lineage.LineageProblem], current: str | None, stage: str
                          ) -> list[lineage.LineageProblem]:
    """Of a group's problems, those of `drumgate <stage>` outputs that their own recorded command must
    write again: hand edits and deletions (of the newest report `current` too: a new report would leave
    them in place), and outputs other than the newest dated pair (a path of their own)."""
    newest = current.rsplit(".", 1)[0] if current else None  # its .json and .html
    return [p for p in problems_made_by(found, stage) if p.message.startswith((HAND_EDITED, MISSING))
            or p.artifact.rsplit(".", 1)[0] != newest]


def _report_folder(stage: str, dataset: str) -> str:
    return {"health": health_reports_of(dataset), "weights": weights_reports_of(dataset)}[stage]


def rerun_stale(run: Run, group: str, stage: str, prefix: str) -> None:
    """Re-run the recorded commands of stale artifacts under `prefix` (diffs and compares keep their inputs);
    one deleted together with a report it read (a dataset removed) leaves the lock instead."""
    problems = [problem for problem in problems_of(run.ws, group, prefix)
                if problem.artifact not in run.retired and problem.command.startswith(f"drumgate {stage}")]
    rerun(run, stage, without_lost_report_inputs(run.ws, group, problems, run.dry_run))


def rerun(run: Run, stage: str, problems: Sequence[lineage.LineageProblem]) -> None:
    """Each distinct recorded `drumgate <stage>` command of these problems, once."""
    done: set[str] = set()
    for problem in problems:
        if problem.command in done or not problem.command.startswith(f"drumgate {stage}"):
            continue
        done.add(problem.command)
        argv = current_spelling(shlex.split(problem.command)[1:])
        run.do(Step(stage, argv, f"{problem.artifact}: {problem.message}"))


# Output-file flags of diff and compare before `--json` became the stdout flag everywhere.
RENAMED_OUTPUT_FLAGS = {"--json": "--json-output", "--markdown": "--markdown-output"}


def current_spelling(argv: Sequence[str]) -> tuple[str, ...]:
    """A diff or compare command recorded by an older drumgate (`--json FILE`), in today's spelling."""
    if not argv or argv[0] not in {"diff", "compare"}:
        return tuple(argv)
    return tuple(RENAMED_OUTPUT_FLAGS.get(word, word) for word in argv)


def combined_steps(run: Run, combined_group: str, ran_reports: bool, mixing: set[str]) -> None:
    """combine (when a dataset its mix takes is ingested: an evaluation set alone has nothing to mix;
    and when the datasets it would mix are not those it mixed: one ingested since), then docs."""
    stale = made_by(run.ws, combined_group, "combine")
    missing = not run.ws.path(combined_reference()).is_file()
    recorded = recorded_sources(run.ws, combined_group)
    moved = not missing and recorded is not None and recorded != mixing
    if mixing and (missing or stale or moved):
        reason = "missing" if missing else stale[0].message if stale else (
            f"it mixed {', '.join(sorted(recorded or ())) or 'nothing'}; the mix now takes {', '.join(sorted(mixing))}")
        run.do(Step("combine", ("combine", "--date", run.date), reason))
        ran_reports = True
    docs = made_by(run.ws, combined_group, "docs")
    has_docs = newest_recorded(run.ws, combined_group, "DATASET_READINESS_PLAN.md") is not None
    if docs or ran_reports or not has_docs:
        reason = docs[0].message if docs else ("new reports" if ran_reports else "missing")
        run.do(Step("docs", ("docs", "--date", run.date), reason))


def plan_and_run(ws: Workspace, groups: Sequence[str], date: str, dry_run: bool, skip_raw: bool = False,
                 child_stdout: int | None = None, retired: frozenset[str] = frozenset()) -> Run:
    known = registry(ws)
    run = Run(ws, date, dry_run, [], child_stdout=child_stdout, retired=retired)
    by_group = known.dataset_of_group()
    combined_group = known.combined_group
    selected = [g for g in by_group if g in groups] if groups else list(by_group)
    ingested = [g for g in selected if recorded_commands(ws, g, RAW_STAGES)]
    if not skip_raw:
        for group in ingested:
            raw_steps(run, group, by_group[group])
    if ingested:
        run.do(Step("crash-map", ("crash-map",), "applies the crash dual labels to fresh events"))
    reports_before = len(run.executed)
    for group in ingested:
        for stage in ("health", "weights"):
            report_steps(run, group, by_group[group], stage)
    for group in [*ingested, combined_group]:
        rerun_stale(run, group, "diff", f"{DIFFS_DIR}/")
        rerun_stale(run, group, "compare", f"{DIFFS_DIR}/")
    all_ingested = {by_group[g] for g in by_group if recorded_commands(ws, g, RAW_STAGES)}
    if all_ingested and (not groups or combined_group in groups or set(groups) & set(ingested)):
        # a dataset is mixed once its events are there (a dry run plans them: its ingest stands in)
        has_events = all_ingested.__contains__ if dry_run else lambda name: events_path(ws, name) is not None
        mixing = set(mixed_datasets(load_datasets(ws), has_events))
        combined_steps(run, combined_group, ran_reports=len(run.executed) > reports_before, mixing=mixing)
    return run


@dataclass(frozen=True)
class Outcome:
    """What a repro run did: its date, the steps, what is still stale, and its exit code."""

    date: str
    run: Run
    leftovers: list[lineage.LineageProblem]
    exit_code: int

    def as_json(self) -> dict[str, Any]:
        """The `--json` document: the steps (planned or run, with exit codes) and what is still stale."""
        codes = {id(step): code for step, code in self.run.executed}
        return {
            "date": self.date,
            "dry_run": self.run.dry_run,
            "steps": [
                {"stage": step.stage, "command": step.command, "reason": step.reason, "exit_code": codes.get(id(step))}
                for step in self.run.planned
            ],
            "still_stale": [{"artifact": p.artifact, "problem": p.message, "fix": p.command} for p in self.leftovers],
        }


def repro(ws: Workspace, groups: Sequence[str], date: str | None = None, dry_run: bool = False,
          skip_raw: bool = False, child_stdout: int | None = None) -> Outcome:
    """Bring the named groups (all when none) up to date, or with `dry_run` print the plan."""
    known = known_groups(ws, groups)
    load_taxonomy(ws)  # every step reads it: broken, the plan would be a list of steps that all stop at it
    day = report_date(date).isoformat()
    newest = newest_report_day(ws, known)
    if date is None and newest is not None and newest > day:
        # a teammate a timezone ahead committed tomorrow's reports: today's would sort before them
        # and leave them stale, so new reports take their day, never an earlier one
        print(f"reports dated {newest} are recorded: new reports take that date, not today's {day}")
        day = newest
    for group in known:
        dropped = 0 if dry_run else drop_outside_entries(ws, group)
        if dropped:
            print(f"{ws.rel(ws.lock_file(group))}: dropped {dropped} entries outside the workspace")
    if dry_run:
        print(f"drumgate repro --dry-run ({ws.root}, date {day}): the plan as things stand; steps after an")
        print("ingest run only when what it writes changes.")
    lost = lost_locks(ws, groups)
    for err in lost:
        print(str(err), file=sys.stderr)
    retiring = [group for group in retired_groups(ws, known) if not groups or group in groups]
    gone = frozenset(name for group in retiring for name in retire(ws, group, dry_run))
    if not groups or registry(ws).combined_group in groups:
        gone |= frozenset(retire_combined(ws, dry_run))
    staying = [group for group in groups if group not in retiring]  # none left of those named: nothing to run
    outcome = (plan_and_run(ws, staying, day, dry_run, skip_raw, child_stdout, gone) if staying or not groups
               else Run(ws, day, dry_run, [], child_stdout=child_stdout))
    if dry_run:
        return Outcome(day, outcome, [], EXIT_FINDINGS if lost else EXIT_OK)
    with_findings = [step for step, code in outcome.executed if code == EXIT_FINDINGS]
    raw_findings = [step for step in with_findings if step.stage in (*RAW_STAGES, "checksums")]
    print(f"\nrepro: {len(outcome.executed)} steps ran"
          + (f"; findings (see above) from: {', '.join(s.command for s in with_findings)}" if with_findings else ""))
    leftovers = [p for g in known for p in (problems_of(ws, g, "") if ws.lock_file(g).is_file() else [])]
    if leftovers:
        first = leftovers[0]
        print(f"{first.artifact}: {first.message} (fix: {first.command})", file=sys.stderr)
        return Outcome(day, outcome, leftovers, EXIT_FINDINGS)
    return Outcome(day, outcome, leftovers, EXIT_FINDINGS if raw_findings or lost else EXIT_OK)

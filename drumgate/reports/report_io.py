"""Shared plumbing of the report commands (health, weights): naming, inputs and lineage."""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate import lineage
from drumgate.artifacts import ArtifactRegistry, classify, ingest_fix
from drumgate.config import load_datasets
from drumgate.errors import DAMAGED_HINTS, DrumgateError, format_finding, shown_from_here, shown_path
from drumgate.io.jsonio import PACKAGE_SCHEMAS, check_schema, iter_jsonl, read_json, schema_problem
from drumgate.restore import restore_fix
from drumgate.workspace import COMBINED, Workspace

EVENTS_NAME = re.compile(r"^(?P<dataset>[a-z][a-z0-9_]*)_events\.jsonl(\.gz)?$")
CONFIG_INPUTS = ("configs/datasets.toml", "configs/technique_taxonomy.json", "configs/crash_dual_label.json")
MAX_PRINTED_ERRORS = 20


def existing_events(ws: Workspace, typed: Path) -> Path:
    """The absolute path of the events manifest a user typed, when it is on disk (a file, or its
    partitioned folder): a mistyped path is worded as missing before its name is read for the dataset."""
    from drumgate.io import parts

    events = ws.user_path(typed)
    if parts.resolve(events).exists():
        return events
    match = EVENTS_NAME.match(events.name)
    from_root = ws.path(typed)
    if not Path(typed).is_absolute() and parts.resolve(from_root).exists():
        # a workspace-relative path (as drumgate prints them) typed in a subfolder
        here = os.path.relpath(from_root)
        hint = f"fix: pass --events {shlex.quote(here)} (paths you type are relative to the current folder)"
    elif match is not None and match.group("dataset") in load_datasets(ws).datasets:
        hint = f"fix: drumgate ingest {match.group('dataset')}"
    elif events.parent.is_dir():
        shown = Path(os.path.expanduser(typed)).parent  # `ls '~'` would look for a folder named ~
        hint = parts.pick_from_fix(shown)
    else:
        hint = "fix: pass the path of an existing <ds>_events.jsonl"
    raise DrumgateError("file not found", path=typed, hint=hint)


@dataclass(frozen=True)
class ScratchRun:
    """A report asked of a typed input outside the workspace, to be written inside it: refused.

    Not written elsewhere by default: a file nobody named would appear beside someone's data (maybe
    a shared or read-only mount), and the default output stays what it documents, the workspace's
    own report, made only from the workspace's files. Not written inside unrecorded either: it could
    replace the committed report of the committed manifest, and the hooks refuse an unrecorded
    artifact; recorded, its command would name a file on one machine, which `drumgate repro` cannot
    re-run anywhere else. The refusal comes before any counting, and its fix is the typed command
    writing beside the outside input (or in the temporary folder when that one is read-only),
    where `lineage.record_all` leaves the report out of the lock with a note."""

    source: Path  # the first typed input outside the workspace
    command: list[str]  # the typed command with its outputs moved outside ([] when none was typed)
    hint: str

    def refusal(self, ws: Workspace, into: Path) -> DrumgateError:
        """The error naming the workspace file the report would have been written to."""
        verb = "replace" if into.exists() else "go to"
        return DrumgateError(f"outside the workspace {ws.root}, so its report may not {verb} {ws.rel(into)},"
                             " whose lock entry would name a path on this machine", path=self.source, hint=self.hint)


def scratch_run(ws: Workspace, command: Sequence[str], inputs: Sequence[Path | None],
                outputs: Mapping[str, Path | str | None], names: Mapping[str, str]) -> ScratchRun | None:
    """A `ScratchRun` when one of the absolute `inputs` (None: not typed) is outside the workspace and
    one of the `outputs` (by flag; None: not typed) goes inside: typed inside, or not typed and one of
    `names`, whose default is in the workspace (the others follow the first output). Its command
    drops each output typed inside and writes each of `names` going inside as
    `<flag> <folder>/<input stem>_<name>`."""
    source = next((path for path in inputs if path is not None and not ws.contains(path)), None)
    if source is None:
        return None
    inside = [flag for flag, typed in outputs.items() if typed is not None and ws.contains(ws.user_path(typed))]
    moved = [flag for flag in names if flag in inside or outputs.get(flag) is None]
    if not inside and not moved:
        return None
    words = list(command)
    for flag in inside:
        if flag in words:
            del words[words.index(flag):words.index(flag) + 2]  # the flag and its value, as retype spells them
    folder = source.parent if os.access(source.parent, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())
    stem = source.name.removesuffix(".gz").removesuffix(".jsonl").removesuffix(".json")
    scratch = [word for flag in moved for word in (flag, str(folder / f"{stem}_{names[flag]}"))]
    if not words:  # called without the typed command: no command to print
        return ScratchRun(source, [], "fix: write every output outside the workspace"
                          + (f", e.g. {shlex.join(scratch)}" if scratch else ""))
    return ScratchRun(source, [*words, *scratch], f"fix: {shlex.join([*words, *scratch])}")


def refuse_scratch_run(ws: Workspace, command: Sequence[str], inputs: Sequence[Path | None],
                       outputs: Mapping[str, tuple[Path | str | None, Path]], name: str) -> None:
    """`scratch_run` refused, for a command whose every output (by flag: as typed, and where it goes)
    defaults into the workspace: the one written beside the outside input is `<stem>_<name><suffix>`."""
    names = {flag: name + ("".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix)
             for flag, (_, path) in outputs.items()}
    scratch = scratch_run(ws, command, inputs, {flag: typed for flag, (typed, _) in outputs.items()}, names)
    if scratch is not None:
        raise scratch.refusal(ws, next(path for _, path in outputs.values() if ws.contains(path)))


def infer_dataset(events: Path, explicit: str | None, ws: Workspace | None = None,
                  command: Sequence[str] = ()) -> str:
    """The dataset `explicit`, else the one the file name says; with `ws` and the `command` as typed,
    a name that says none is refused with that command plus `--dataset` as its fix."""
    if explicit:
        return explicit
    match = EVENTS_NAME.match(events.name) or EVENTS_NAME.match(f"{events.name}.jsonl")  # a partitioned folder
    if match is None and events.is_dir():
        from drumgate.io.parts import pick_from_fix

        raise DrumgateError("a folder, not an events manifest", path=events, hint=pick_from_fix(events))
    if match is None:
        raise DrumgateError("cannot tell the dataset from the file name", path=events,
                            hint=_dataset_fix(ws, events, command))
    return match.group("dataset")


def _dataset_fix(ws: Workspace | None, events: Path, command: Sequence[str]) -> str:
    """`command` with `--dataset`: the configured dataset the first row names, else the first configured."""
    configured = list(load_datasets(ws).datasets) if ws is not None and command else []
    if not configured:
        return "name it <ds>_events.jsonl or pass --dataset"
    named = _first_row_dataset(events)
    dataset = named if named in configured else configured[0]
    return f"fix: {shlex.join([*command, '--dataset', dataset])}"


def _first_row_dataset(events: Path) -> str | None:
    try:
        for _, row in iter_jsonl(events, on_error=lambda _error: None):
            named = row.get("dataset") if isinstance(row, dict) else None
            return named if isinstance(named, str) else None
    except DrumgateError:  # unreadable: the count that follows words it
        return None
    return None


def refuse_another_datasets(ws: Workspace, path: Path | None, dataset: str, command: str) -> None:
    """A manifest named as another configured dataset's (`cambridge_events.jsonl` with `--dataset
    musdb_hq`, or its sessions) would be judged by the wrong gates or weighed as this one's, and the
    output written under this dataset's name: refused, with the `command` for the dataset it names."""
    named = re.match(r"^([a-z][a-z0-9_]*?)_(events|sessions)(\.jsonl(\.gz)?)?$", path.name) if path else None
    if path is None or named is None or named.group(1) == dataset:
        return
    configured = load_datasets(ws).datasets
    if named.group(1) in configured and dataset in configured:
        other, kind = named.group(1), named.group(2)
        fix = (f"fix: drumgate {command} --events {shlex.quote(ws.rel(path))} to run it on {other}, or pass"
               f" {dataset}'s own events manifest") if kind == "events" else (
               f"fix: leave --sessions out, and {command} reads {dataset}'s own beside its events")
        raise DrumgateError(f"{other}'s {kind} manifest, given for {dataset}", path=path, hint=fix)


def sibling_sessions(events: Path, dataset: str) -> Path | None:
    """`<ds>_sessions.jsonl` (or `.jsonl.gz`) next to the events manifest, when it exists."""
    for name in (f"{dataset}_sessions.jsonl", f"{dataset}_sessions.jsonl.gz"):
        candidate = events.parent / name
        if candidate.is_file():
            return candidate
    folder = events.parent / f"{dataset}_sessions"
    return folder if (folder / "index.json").is_file() else None


def artifact_group(ws: Workspace, dataset: str) -> str:
    """The dataset's artifact group (the registry's rule); an unknown dataset is a DrumgateError."""
    config = load_datasets(ws)
    if dataset != COMBINED:
        config.get(dataset)  # names the known datasets when `dataset` is not one
    return ArtifactRegistry.from_config(config).group_of(dataset)


def inside(ws: Workspace, path: Path) -> bool:
    return ws.contains(path)


def record_lineage(ws: Workspace, dataset: str, artifact: Path | Sequence[Path], argv: Sequence[str],
                   inputs: Sequence[Path], known: Mapping[Path, str] | None = None) -> None:
    """Lock entries for `artifact` (or several made from the same inputs, each input hashed once):
    workspace inputs by path, outside inputs by sha256 fingerprint (`known`: already taken)."""
    tracked = [ws.path(name) for name in CONFIG_INPUTS if ws.path(name).is_file()]
    artifacts = [artifact] if isinstance(artifact, Path) else list(artifact)
    lineage.record_all(ws, artifact_group(ws, dataset), artifacts, list(argv), inputs=[*tracked, *inputs],
                       known=known)


def damaged_rows_fix(ws: Workspace, path: Path) -> str | None:
    """The way back from a malformed row in an artifact drumgate wrote (`artifacts.restore_fix`);
    None for any other file, or when there is no way back to name."""
    artifact = classify(ws.rel(path))
    return None if artifact is None else restore_fix(ws, artifact)


class ErrorCollector:
    """Collects row-level errors (naming the file) so every bad line is reported, not just the first.
    With `ws`, an error without a fix (or with a reader's "regenerate the file") gets
    `damaged_rows_fix` of its file, worked out once per file."""

    def __init__(self, path: Path, ws: Workspace | None = None) -> None:
        self.path = path
        self.ws = ws
        self.errors: list[DrumgateError] = []
        self._fixes: dict[Path, str | None] = {}

    def __call__(self, error: DrumgateError) -> None:
        if error.path is None:
            error.path = self.path
        if (error.hint is None or error.hint in DAMAGED_HINTS) and self.ws is not None:
            where = Path(error.path)
            if where not in self._fixes:
                self._fixes[where] = damaged_rows_fix(self.ws, where)
            error.hint = self._fixes[where] or error.hint
        self.errors.append(error)

    def lines(self) -> list[str]:
        """One line per error (each path shown from the current folder, as a command's findings are)."""
        shown = [str(shown_from_here(error)) for error in self.errors[:MAX_PRINTED_ERRORS]]
        if len(self.errors) > MAX_PRINTED_ERRORS:
            more = len(self.errors) - MAX_PRINTED_ERRORS
            shown.append(format_finding(shown_path(self.path), f"... and {more} more malformed rows"))
        return shown


def report_row_errors(command: str, *collectors: ErrorCollector | None) -> bool:
    """Print every malformed row of the inputs; True when there were any (nothing may be written)."""
    lines = [line for collector in collectors if collector is not None for line in collector.lines()]
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        print(f"{command}: nothing written (fix the rows above)", file=sys.stderr)
    return bool(lines)


def session_rows(path: Path | None, sink: ErrorCollector | None) -> Iterator[dict[str, Any]] | None:
    """The sessions manifest's rows; a row that does not match the sessions schema is a row error."""
    if path is None:
        return None
    return _checked_rows(path, "sessions", sink)


def _checked_rows(path: Path, schema: str, sink: ErrorCollector | None) -> Iterator[dict[str, Any]]:
    for line_no, row in iter_jsonl(path, on_error=sink):
        problem = schema_problem(row, schema)
        if problem is None:
            yield row
            continue
        error = DrumgateError(problem, path=path, line=line_no, hint=ingest_fix(path))
        if sink is None:
            raise error
        sink(error)


REPORT_KINDS = ("health", "weights")


def read_report(path: Path, kinds: Sequence[str] = REPORT_KINDS) -> dict[str, Any]:
    """A health or weights report, checked against its schema before anything reads a field of it."""
    report = read_json(path)
    kind = report.get("kind") if isinstance(report, dict) else None
    if kind not in kinds:
        wanted = " or ".join(kinds)
        raise DrumgateError(f"not a drumgate {wanted} report", path=path, hint=f"name a {wanted} report file")
    version = report.get("schema_version")
    # Another schema version is checked for shape as if current: the commands word a version mismatch.
    shaped = {**report, "schema_version": current_schema_version(str(kind))} if type(version) is int else report
    check_schema(shaped, str(kind), path, hint="regenerate it with the drumgate command that wrote it")
    return report


@functools.cache
def current_schema_version(kind: str) -> Any:
    return read_json(PACKAGE_SCHEMAS / f"{kind}.schema.json")["properties"]["schema_version"]["const"]


def parse_requirement(text: str, flag: str) -> tuple[str, int]:
    """`NAME` or `NAME=N` (N a whole number >= 0; NAME alone means at least 1)."""
    name, _, count = text.partition("=")
    if not name:
        example = ("flam" if "technique" in flag else "kick") + (f"={count}" if count else "")
        raise DrumgateError(f"{flag} {text!r}: expected NAME or NAME=N",
                            hint=f"fix: name what to count before the =, e.g. {flag} {shlex.quote(example)}")
    if not count:
        return name, 1
    try:
        minimum = int(count)
    except ValueError:
        raise DrumgateError(f"{flag} {text!r}: N must be a whole number",
                            hint=f"fix: pass {flag} {shlex.quote(name + '=1')}, N a whole number of events") from None
    if minimum < 0:
        raise DrumgateError(f"{flag} {text!r}: N must be 0 or more",
                            hint=f"fix: pass {flag} {shlex.quote(f'{name}={-minimum}')}")
    return name, minimum

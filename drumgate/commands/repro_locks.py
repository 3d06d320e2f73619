"""What `drumgate repro` reads from the locks: the recorded commands, the problems of a group's
artifacts, its newest report, and lock entries an older drumgate left naming files outside."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable, Sequence

from drumgate import lineage
from drumgate.artifacts import checksum_manifest, classify, combined_reference, dated_name, provenance_manifest
from drumgate.errors import DrumgateError
from drumgate.git import git_at
from drumgate.io.jsonio import iter_jsonl, read_json, write_json
from drumgate.workspace import Workspace


def drop_outside_entries(ws: Workspace, group: str) -> int:
    """Remove lock entries naming files outside the workspace; how many were dropped."""
    path = ws.lock_file(group)
    if not path.is_file():
        return 0
    raw = lineage.read_lock(ws, group, drop_outside=True)
    before = len(read_json(path).get("artifacts", {}))
    if before != len(raw["artifacts"]):
        write_json(path, raw)
    return before - len(raw["artifacts"])


def recorded_commands(ws: Workspace, group: str, subcommands: Sequence[str]) -> list[tuple[str, ...]]:
    """Distinct recorded commands of the group whose subcommand is one of `subcommands`, in lock order."""
    seen: dict[tuple[str, ...], None] = {}
    for entry in lineage.read_lock(ws, group)["artifacts"].values():
        argv = tuple(shlex.split(entry["command"])[1:])
        if argv and argv[0] in subcommands:
            seen.setdefault(argv, None)
    return list(seen)


def option_value(argv: Sequence[str], flag: str) -> str | None:
    for index, item in enumerate(argv[:-1]):
        if item == flag:
            return argv[index + 1]
    return None


def with_option(argv: Sequence[str], flag: str, value: str) -> tuple[str, ...]:
    """`argv` with `flag value` set (replaced when present, appended otherwise)."""
    items = list(argv)
    for index, item in enumerate(items[:-1]):
        if item == flag:
            items[index + 1] = value
            return tuple(items)
    return (*items, flag, value)


def problems_of(ws: Workspace, group: str, prefix: str) -> list[lineage.LineageProblem]:
    """Lineage problems of the group's current (not superseded) artifacts under `prefix`."""
    if not ws.lock_file(group).is_file():
        return []
    return [p for p in lineage.check(ws, group) if p.artifact.startswith(prefix)]


def newest_recorded(ws: Workspace, group: str, prefix: str) -> str | None:
    artifacts = lineage.read_lock(ws, group)["artifacts"]
    current = [a for a in artifacts if a.startswith(prefix) and a not in lineage.superseded(artifacts)]
    return max(current) if current else None


def made_by(ws: Workspace, group: str, subcommand: str) -> list[lineage.LineageProblem]:
    """Lineage problems of the group's artifacts that `drumgate <subcommand>` made."""
    return problems_made_by(problems_of(ws, group, ""), subcommand)


def problems_made_by(problems: Sequence[lineage.LineageProblem], subcommand: str) -> list[lineage.LineageProblem]:
    """Those of `problems` whose artifact `drumgate <subcommand>` made."""
    return [p for p in problems if shlex.split(p.command)[1:2] == [subcommand]]


def ingested(ws: Workspace, group: str) -> bool:
    """Whether the group's lock records an ingest that wrote its manifests (not only a dry run)."""
    return any("--dry-run" not in argv for argv in recorded_commands(ws, group, ["ingest"]))


def sources_read(ws: Workspace, group: str) -> str | None:
    """A digest of the raw files the group's provenance names (each path and sha256): it moves when the
    raw data an ingest read changed, and only then (not with the config hashes or the date); None
    when there is no lock or a provenance file cannot be read."""
    if not ws.lock_file(group).is_file():
        return None
    digest = hashlib.sha256()
    try:
        for name in sorted(lineage.read_lock(ws, group)["artifacts"]):
            artifact = classify(name)
            if artifact is None or artifact.kind not in ("provenance", "provenance_index"):
                continue
            source = ws.path(name).parent if artifact.kind == "provenance_index" else ws.path(name)
            read = sorted(f"{item.get('path')}\t{item.get('sha256')}" for _, row in iter_jsonl(source)
                          for item in row.get("source_files") or [])
            digest.update(("\n".join([name, *read]) + "\n").encode("utf-8"))
    except DrumgateError:
        return None
    return digest.hexdigest()


def read_checksums(ws: Workspace, group: str, dataset: str) -> bool:
    """Whether the lock records the checksum manifest as an input of the dataset's provenance."""
    def of(artifact: str) -> Callable[[str], bool]:  # the file, its gzip and its partitioned forms
        stem = artifact.rsplit(".", 1)[0]
        return lambda path: path == stem or path.startswith((f"{stem}.", f"{stem}/"))

    is_manifest, is_provenance = of(checksum_manifest(dataset)), of(provenance_manifest(dataset))
    artifacts = lineage.read_lock(ws, group)["artifacts"]
    return any(is_manifest(str(source)) for name, entry in artifacts.items() if is_provenance(name)
               for source in entry.get("inputs", {}))


def newest_report_day(ws: Workspace, groups: Sequence[str]) -> str | None:
    """The latest date (YYYY-MM-DD) in the name of a dated artifact the groups' locks record."""
    days = [dated[1] for group in groups if ws.lock_file(group).is_file()
            for name in lineage.read_lock(ws, group, drop_outside=True)["artifacts"]
            if (dated := dated_name(name)) is not None]
    newest = max(days, default=None)
    return f"{newest[:4]}-{newest[4:6]}-{newest[6:]}" if newest else None


def without_lost_report_inputs(ws: Workspace, group: str, problems: Sequence[lineage.LineageProblem],
                                dry_run: bool) -> list[lineage.LineageProblem]:
    """Of a group's diff and compare problems, those repro can act on. One whose own files are gone
    along with a report it read (its dataset removed) cannot be made again: its lock entry goes (kept
    in a dry run), which repro says."""
    artifacts = lineage.read_lock(ws, group)["artifacts"]
    kept: list[lineage.LineageProblem] = []
    lost: list[str] = []
    orphans: dict[str, str] = {}  # a diff or compare still here whose report is gone -> that report
    for problem in problems:
        inputs = artifacts.get(problem.artifact, {}).get("inputs", {})
        gone = [name for name in inputs if name.startswith("reports/") and not ws.path(name).exists()]
        if gone and not ws.path(problem.artifact).exists():
            goes = "would go" if dry_run else "goes"
            print(f"\n== forget: {problem.artifact}: deleted, and so is {gone[0]}, which it read:"
                  f" its lock entry {goes}")
            lost.append(problem.artifact)
        elif gone:
            orphans[problem.artifact] = gone[0]
        else:
            kept.append(problem)
    if orphans:  # rerun, it would read a report that is gone (its dataset removed): only deleting it helps
        (first, report), *_ = sorted(orphans.items())
        paths = " ".join(shlex.quote(path) for path in sorted(orphans))
        raise DrumgateError(f"reads {report}, which is gone (a dataset removed?): it cannot be made again", path=first,
                            hint=f"fix: {git_at(ws.root)}rm -q {paths}, then drumgate repro {group}")
    if lost and not dry_run:  # written as drop_outside_entries does: the child steps take the group's lock
        lock = lineage.read_lock(ws, group, drop_outside=True)
        lock["artifacts"] = {name: entry for name, entry in lock["artifacts"].items() if name not in lost}
        write_json(ws.lock_file(group), lock)
    return kept


def recorded_sources(ws: Workspace, group: str) -> set[str] | None:
    """The datasets the combined manifest mixed when `combine` last ran: the events manifests its lock
    lists as inputs of the combined reference (a file or a partitioned folder's index); None before
    combine has run."""
    entry = lineage.read_lock(ws, group, drop_outside=True)["artifacts"].get(combined_reference())
    if entry is None:
        return None
    recorded = (classify(path) for path in entry.get("inputs", {}))
    return {a.group for a in recorded if a is not None and a.group and a.manifest == "events"} - {group}

"""Hook: artifact groups are staged together and nothing generated is stale or hand-edited.

pre-commit splits file names into batches, so this hook takes none (`pass_filenames: false`) and
reads `git diff --cached` itself. For each artifact group the staged change touches (a staged
artifact of the group, or a staged file its lock lists as an input):
- a staged events manifest needs its provenance, health report, weights and lock file staged with
  it (an unchanged companion is fine when the lock shows it is still current);
- every artifact in `data/locks/<group>.lock.json` must hash as recorded (else it was edited by
  hand) and so must its inputs (else it is stale); both are blocked with the recorded command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from checks._hookutil import Reporter, lock_groups, staged_paths
from drumgate import cli
from drumgate.artifacts import Artifact, classify, is_data_path
from drumgate.workspace import Workspace

GENERATED_KINDS = frozenset({"events", "sessions", "provenance", "checksums", "health", "health_html", "weights"})
COMPANIONS = (
    ("provenance", "its provenance", "data/provenance/{g}_provenance.jsonl"),
    ("health", "its health report", "reports/health/{g}_<YYYYMMDD>.json"),
    ("weights", "its sampling weights", "reports/sampling/{g}_weights_<YYYYMMDD>.json"),
    ("lock", "its lock file", "data/locks/{g}.lock.json"),
)
FALLBACK_COMMANDS = {
    "provenance": "drumgate ingest {g} (see drumgate --help)",
    "health": "drumgate health {g}",
    "weights": "drumgate weights {g}",
    "lock": "rerun the drumgate commands that wrote the staged files",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filenames", nargs="*", help="ignored: the hook reads the staged files from git itself")


@dataclass(frozen=True)
class Problem:
    artifact: str
    message: str
    command: str


def _read_lock(ws: Workspace, group: str) -> dict:
    from drumgate.lineage import read_lock

    return read_lock(ws, group)


def touched_groups(ws: Workspace, staged: list[str]) -> dict[str, list[Artifact]]:
    """Group -> its staged artifacts, for every group the staged change touches."""
    groups: dict[str, list[Artifact]] = {}
    for path in staged:
        artifact = classify(path)
        if artifact is not None and artifact.group is not None:
            groups.setdefault(artifact.group, []).append(artifact)
    staged_set = set(staged)
    for group in lock_groups(ws):
        if group in groups:
            continue
        lock = _read_lock(ws, group)
        if any(staged_set.intersection(entry.get("inputs", {})) for entry in lock["artifacts"].values()):
            groups[group] = []
    return groups


def lineage_problems(ws: Workspace, group: str) -> list[Problem]:
    from drumgate.lineage import check

    problems = [Problem(p.artifact, p.message, p.command) for p in check(ws, group)]
    # a hand edit is the cause; artifacts made stale by it follow
    return sorted(problems, key=lambda p: "edited by hand" not in p.message)


def _existing(ws: Workspace, kind: str, group: str) -> list[str]:
    """Workspace files of one kind in a group (newest dated report last)."""
    folders = {
        "provenance": "data/provenance",
        "health": "reports/health",
        "weights": "reports/sampling",
        "lock": "data/locks",
    }
    folder = ws.root / folders[kind]
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        artifact = classify(ws.rel(path))
        if artifact is not None and artifact.kind == kind and artifact.group == group:
            found.append(artifact)
    return [a.path for a in sorted(found, key=lambda a: (a.date or "", a.path))]


def _command_for_kind(ws: Workspace, group: str, kind: str) -> str:
    lock = _read_lock(ws, group)
    for path, entry in sorted(lock["artifacts"].items(), reverse=True):
        artifact = classify(path)
        if artifact is not None and artifact.kind == kind:
            return str(entry["command"])
    return FALLBACK_COMMANDS[kind].format(g=group)


def co_staging_problems(ws: Workspace, group: str, staged: list[Artifact], stale: set[str]) -> list[Problem]:
    events = [a for a in staged if a.kind == "events"]
    if not events:
        return []
    staged_kinds = {a.kind for a in staged}
    problems = []
    for kind, what, pattern in COMPANIONS:
        if kind in staged_kinds:
            continue
        existing = _existing(ws, kind, group)
        if existing and existing[-1] not in stale and kind != "lock":
            continue
        if kind == "lock" and existing and not stale.intersection(a.path for a in events):
            continue
        expected = existing[-1] if existing else pattern.format(g=group)
        state = "is not staged" if existing else "does not exist"
        problems.append(
            Problem(events[0].path, f"staged without {what}: {expected} {state}", _command_for_kind(ws, group, kind))
        )
    return problems


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    reporter = Reporter()
    staged = staged_paths(ws, include_deleted=True)
    if not any(is_data_path(path) for path in staged):
        return reporter.close()
    from drumgate.errors import DrumgateError

    for group, artifacts in sorted(touched_groups(ws, staged).items()):
        try:
            problems = lineage_problems(ws, group) if ws.lock_file(group).is_file() else []
        except DrumgateError as err:
            reporter.add(err)
            continue
        if not ws.lock_file(group).is_file() and any(a.kind in GENERATED_KINDS for a in artifacts):
            reporter.finding(
                ws.rel(ws.lock_file(group)),
                f"no lineage lock for the staged {group} artifacts",
                hint="fix: regenerate them with drumgate (every command records its lock entry), "
                "then git add data/locks",
            )
        stale = {p.artifact for p in problems}
        for problem in [*co_staging_problems(ws, group, artifacts, stale), *problems]:
            reporter.finding(problem.artifact, problem.message, hint=f"fix: {problem.command}, then git add the result")
    return reporter.close()


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m checks.check_freshness")


if __name__ == "__main__":
    raise SystemExit(main())

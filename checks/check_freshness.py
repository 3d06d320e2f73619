"""Hook: artifact groups are staged together and nothing generated is stale or hand-edited.

pre-commit splits file names into batches, so this hook takes none (`pass_filenames: false`) and
reads `git diff --cached` itself; `--all` checks every group in `data/locks/` as the worktree holds
it, whatever is staged.
Every artifact in `data/locks/<group>.lock.json` must hash as recorded and so must its inputs.
The hook prints one finding per root cause, root causes first:

0. a deleted licence note that artifacts were made under (restore it: no ingest runs without it);
1. a hand edit: a staged artifact that is not what its command wrote (undo it, or regenerate);
2. partial staging: a regenerated file, or the lock that records it, left out of the commit
   (`git add` it); the mismatch it causes is not a hand edit;
3. everything stale or missing that neither explains: one `drumgate repro GROUP...` line, which
   also names the files of 2. (its `git add -A` stages them: one fix gets the commit through);
4. a staged file in an artifact's place that no lock records (made or copied by hand), unless its
   group's lock was regenerated and left out (2.). A rename is a deletion and an addition.

Artifacts made stale by a hand edit or by a file left out are consequences, not causes: fixing
the cause fixes them, so they are not listed. No fix names a `--date`: repro dates what it
regenerates today.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from checks._hookutil import Reporter, committed_locks, deleted_locks, link_fix, linked_data_files, staged_paths
from drumgate.artifacts import HEALTH_DIR, PROVENANCE_DIR, SAMPLING_DIR, Artifact, classify, is_data_path, registry
from drumgate.errors import DrumgateError
from drumgate.git import git_at, git_output, restore_command
from drumgate.licences import unfinished_notes
from drumgate.lineage import HAND_EDITED, MISSING, NEW_INPUT, lock_groups
from drumgate.lineage.moved import retired_groups
from drumgate.restore import lost_lock_fix
from drumgate.workspace import Workspace

if TYPE_CHECKING:
    from drumgate.lineage import LineageProblem

GENERATED_KINDS = frozenset({"events", "sessions", "provenance", "checksums", "health", "health_html", "weights"})
# What a staged events manifest needs beside it; a missing one is made by `drumgate repro`.
COMPANIONS = (
    ("provenance", PROVENANCE_DIR, "no provenance"),
    ("health", HEALTH_DIR, "no health report"),
    ("weights", SAMPLING_DIR, "no sampling weights"),
)
READINESS_PLAN = "DATASET_READINESS_PLAN.md"  # the one artifact outside data/ and reports/ (`drumgate docs`)
PART_MISSING = "listed in index.json but missing"
# a regenerated file the commit does not hold, while it holds the rest of its group (or its lock)
LEFT_OUT = "regenerated but left out of the commit"
# the kinds a lineage lock records (a part is recorded by its folder's index, a licence note by no one)
RECORDED_KINDS = frozenset({"events", "events_reference", "sessions", "provenance", "checksums", "checksums_index",
                            "health", "health_html", "weights", "diff", "diff_md", "events_index",
                            "sessions_index", "provenance_index"})


def _is(problem: LineageProblem, what: str) -> bool:
    return problem.message.startswith(what)


@dataclass(frozen=True)
class GitState:
    """What the commit holds against HEAD, and what the worktree holds beyond it.

    `left_out`: files whose worktree version is not staged and is what the hook reads (untracked
    files; any changed file when the hook runs outside pre-commit). `stashed`: files whose
    unstaged changes pre-commit set aside, so the hook reads their staged version.
    """

    staged: frozenset[str]
    left_out: frozenset[str]
    stashed: frozenset[str]
    in_head: frozenset[str]


UNTRACKED = GitState(frozenset(), frozenset(), frozenset(), frozenset())


@dataclass
class Causes:
    """The lineage problems of the checked groups, sorted into root causes."""

    hand_edited: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # group -> (path, deleted)
    staged_apart: dict[str, set[str]] = field(default_factory=dict)  # group -> paths to git add
    stale_groups: set[str] = field(default_factory=set)
    stale_causes: dict[str, str] = field(default_factory=dict)  # path -> why (changed, gone, missing...)
    stale_artifacts: set[str] = field(default_factory=set)
    deleted_notes: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # note -> group -> artifacts

    def roots(self) -> set[str]:
        edited = {path for paths in self.hand_edited.values() for path, _ in paths}
        return edited | {path for paths in self.staged_apart.values() for path in paths}

    def add_stale(self, group: str, path: str, why: str, artifacts: Iterable[str]) -> None:
        self.stale_groups.add(group)
        self.stale_causes.setdefault(path, why)
        self.stale_artifacts.update(artifacts)


def _stashed_by_pre_commit(prefix: str) -> set[str]:
    """Paths whose unstaged changes pre-commit set aside while hooks run.

    pre-commit checks out the index and saves the rest as `patch<time>-<its pid>` in its home, so
    a regenerated file the user did not stage is invisible in the worktree; the patch names it.
    """
    # pre-commit's own rule for its home (~/.cache on every platform), not platformdirs': the folder is its.
    home = os.environ.get("PRE_COMMIT_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pre-commit"
    )
    paths: set[str] = set()
    for patch in Path(home).glob(f"patch*-{os.getppid()}"):
        try:
            lines = patch.read_bytes().decode("utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("diff --git a/") and " b/" in line:
                name = line.rsplit(" b/", 1)[1]
                if name.startswith(prefix):
                    paths.add(name[len(prefix) :])
    return paths


def _names(output: str) -> set[str]:
    return {name for name in output.split("\0") if name}


def git_state(ws: Workspace, staged: list[str], candidates: Iterable[str]) -> GitState:
    left_out = _names(git_output(["ls-files", "-z", "--others", "--exclude-standard"], ws.root))
    left_out |= _names(git_output(["diff", "--name-only", "--relative", "-z"], ws.root))
    stashed: set[str] = set()
    if os.environ.get("PRE_COMMIT"):
        stashed = _stashed_by_pre_commit(git_output(["rev-parse", "--show-prefix"], ws.root).strip())
    wanted = sorted(set(candidates))
    in_head: set[str] = set()
    if wanted:
        with contextlib.suppress(DrumgateError):  # no commit yet
            in_head = _names(git_output(["ls-tree", "-r", "-z", "--name-only", "HEAD", "--", *wanted], ws.root))
    return GitState(frozenset(staged), frozenset(left_out), frozenset(stashed), frozenset(in_head))


def touched_groups(ws: Workspace, staged: list[str]) -> dict[str, list[Artifact]]:
    """Group -> its staged artifacts, for every group the staged change touches."""
    from drumgate.lineage import read_lock

    groups: dict[str, list[Artifact]] = {}
    for path in staged:
        artifact = classify(path)
        if artifact is not None and artifact.group is not None:
            groups.setdefault(artifact.group, []).append(artifact)
    staged_set = set(staged)
    for group in lock_groups(ws):
        if group in groups:
            continue
        try:
            lock = read_lock(ws, group)
        except DrumgateError:
            continue  # an unreadable lock is reported when its own group is checked
        recorded = lock["artifacts"]
        inputs = {source for entry in recorded.values() for source in entry.get("inputs", {})}
        if staged_set.intersection(recorded) or staged_set.intersection(inputs):
            groups[group] = []
    return groups


def _has_kind(ws: Workspace, folder: str, kind: str, group: str) -> bool:
    path = ws.root / folder
    if not path.is_dir():
        return False
    return any(
        (artifact := classify(ws.rel(child / "index.json" if child.is_dir() else child))) is not None
        and artifact.manifest == kind and artifact.group == group
        for child in path.iterdir()
    )


def missing_companions(ws: Workspace, group: str, staged: list[Artifact]) -> tuple[str, list[str]]:
    """A staged events manifest of `group` and what it has never had beside it (repro makes it)."""
    events = [a.path for a in staged if a.manifest == "events"]
    if not events:
        return "", []
    staged_kinds = {a.manifest for a in staged}
    return events[0], [
        what for kind, folder, what in COMPANIONS if kind not in staged_kinds and not _has_kind(ws, folder, kind, group)
    ]


def sort_causes(ws: Workspace, problems: dict[str, list[LineageProblem]], state: GitState) -> Causes:
    """Hand edits and partial staging first; a stale artifact they explain is not a cause of its own."""
    from drumgate.licences import named_in_config
    from drumgate.lineage import read_lock

    causes = Causes()
    for group, found in problems.items():
        lock = ws.rel(ws.lock_file(group))
        apart = causes.staged_apart.setdefault(group, set())
        recorded = set(read_lock(ws, group)["artifacts"]) | {lock}
        for problem in found:
            artifact = problem.artifact
            if artifact not in recorded:  # a part of a recorded folder that disagrees with its index
                if artifact in state.stashed or artifact in state.left_out:
                    apart.add(artifact)
                else:
                    causes.hand_edited.setdefault(group, []).append((artifact, _is(problem, PART_MISSING)))
            elif _is(problem, HAND_EDITED) and lock in state.stashed:
                # the regenerated lock was left out, and whatever else of the group was regenerated with it
                apart.update({lock} | (recorded & state.stashed))
            elif _is(problem, HAND_EDITED) and (
                artifact in state.stashed or (artifact not in state.staged and lock in state.staged)
            ):
                apart.add(artifact)
            elif _is(problem, HAND_EDITED) or (_is(problem, MISSING) and artifact in state.staged):
                causes.hand_edited.setdefault(group, []).append((artifact, _is(problem, MISSING)))
        # what the hook reads matches the lock, but the commit does not hold it
        flagged = {problem.artifact for problem in found}
        apart.update(path for path in recorded & state.left_out if path not in flagged)
        # a partitioned folder is recorded by its index: a part left out of the commit is staged apart
        folders = tuple(path.removesuffix("index.json") for path in recorded if path.endswith("/index.json"))
        apart.update(path for path in state.left_out if folders and path.startswith(folders))
        if not apart:
            del causes.staged_apart[group]
    roots = causes.roots()
    for group, found in problems.items():
        for problem in found:
            if problem.artifact in roots or _is(problem, HAND_EDITED):
                continue
            if _is(problem, MISSING):
                causes.add_stale(group, problem.artifact, "missing", [problem.artifact])
                continue
            source = problem.message.split("input ", 1)[1].split(" ", 1)[0]
            if source not in roots:
                why = ("gone" if problem.message.endswith(" is gone")
                       else "new" if problem.message.endswith(NEW_INPUT) else "changed")
                if why == "gone" and (note := classify(source)) is not None and note.kind == "licence" and (
                        named_in_config(ws, source)):  # no ingest runs without the note it names: restore it
                    causes.deleted_notes.setdefault(source, {}).setdefault(group, set()).add(problem.artifact)
                    continue
                causes.add_stale(group, source, why, [problem.artifact])
    return causes


def unrecorded_artifacts(ws: Workspace, staged: Iterable[str], state: GitState, causes: Causes,
                         reporter: Reporter) -> None:
    """A staged file in an artifact's place that its group's lock does not record: drumgate did not
    write it there (a report copied or made by hand, a manifest moved in), so nothing vouches for it.
    When pre-commit set the lock's own changes aside, the user ran the command and left the lock out:
    that is partial staging, completed with `git add`."""
    from drumgate.lineage import read_lock

    recorded = functools.cache(lambda group: read_lock(ws, group)["artifacts"])  # one read per group's lock
    for path in staged:
        artifact = classify(path)
        if artifact is None or artifact.kind not in RECORDED_KINDS or artifact.group is None:
            continue
        lock = ws.lock_file(artifact.group)
        try:  # a deletion, a group without a lock or with an unreadable one: findings of their own
            if not (ws.path(path).is_file() and lock.is_file()) or path in recorded(artifact.group):
                continue
        except DrumgateError:
            continue
        lock_path = ws.rel(lock)
        if lock_path in state.stashed or lock_path in state.left_out:
            causes.staged_apart.setdefault(artifact.group, set()).add(lock_path)
            continue
        why = f"no lineage lock records it: drumgate did not write it here ({lock_path} names what it wrote)"
        reporter.finding(path, why, hint=f"fix: {git_at(ws.root)}rm --cached {shlex.quote(path)} to keep it out of git")


def report_deleted_notes(ws: Workspace, reporter: Reporter, causes: Causes) -> None:
    from drumgate.licences import REQUIRED_KEYS, missing_note_command

    for note, groups in sorted(causes.deleted_notes.items()):
        count = len({path for paths in groups.values() for path in paths})
        command = missing_note_command(ws.root, note)
        fix = command or f"write {note} with a front matter block holding {', '.join(REQUIRED_KEYS)}"
        reporter.finding(
            note,
            f"licence note deleted while {count} artifact{'s' if count != 1 else ''} of {', '.join(sorted(groups))} "
            "were made under it (no ingest runs without it)",
            hint=f"fix: {fix}",
        )


def report_causes(ws: Workspace, reporter: Reporter, causes: Causes, state: GitState) -> None:
    for group, edited in sorted(causes.hand_edited.items()):
        first, deleted = edited[0]
        what = "deleted by hand" if deleted else "edited by hand: it differs from what its command wrote"
        others = f"; so are {', '.join(path for path, _ in edited[1:])}" if len(edited) > 1 else ""
        undoable = [path for path, _ in edited if path in state.in_head and path in state.staged]
        regenerate = f"drumgate repro {group}, then git add -A, to regenerate"  # repro leaves the edit staged
        fix = f"{restore_command(*undoable, root=ws.root)} to undo, or {regenerate}" if undoable else regenerate
        reporter.finding(first, f"{what}{others}", hint=f"fix: {fix}")
    groups = sorted(causes.stale_groups - set(causes.hand_edited))
    left_out = sorted(path for apart in causes.staged_apart.values() for path in apart)
    if not groups:
        for _group, apart in sorted(causes.staged_apart.items()):
            paths = sorted(apart)
            more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
            reporter.finding(paths[0], f"{LEFT_OUT}{more}", hint=f"fix: {git_at(ws.root)}add {' '.join(paths)}")
        return
    (first, why), *others = causes.stale_causes.items()
    more = f" (and {len(others)} more)" if others else ""
    count = len(causes.stale_artifacts)
    # The repro line's `git add -A` stages the files left out too: one fix gets the commit through,
    # where `git add` of them alone would only lead to this line on the next try. An unfinished licence
    # note comes first: repro would stop at it.
    also = ""
    if left_out:
        shown = left_out[0] + (f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else "")
        also = f"; {shown} {LEFT_OUT}"
    # a group configs/datasets.toml no longer has is retired by the same repro line, not made again
    gone = set(retired_groups(ws, registry(ws).all_groups()))
    named = ", ".join(f"{group} (no longer configured: repro retires it)" if group in gone else group
                      for group in groups)
    reporter.finding(
        first,
        f"{why}{more}: {count} artifact{'s' if count != 1 else ''} of {named} to regenerate{also}",
        hint=f"run: {unfinished_notes(ws.root, causes.stale_causes)}drumgate repro {' '.join(groups)}, then git add -A",
    )


def check_workspace(ws: Workspace, reporter: Reporter, whole_workspace: bool = False) -> int:
    """The staged change (or with `whole_workspace`, every artifact group as the worktree holds it):
    groups staged together, nothing stale, nothing edited by hand."""
    from drumgate.config import load_datasets
    from drumgate.lineage import check
    from drumgate.lineage.moved import refuse_any_moved

    # every regeneration the hook could suggest reads it: one that does not parse, breaks its schema or
    # moves a dataset between groups is the one finding (its fix mends it; repro would stop on it)
    try:
        load_datasets(ws)
        refuse_any_moved(ws)
    except DrumgateError as err:
        reporter.add(err)
        return reporter.close()
    staged = [] if whole_workspace else staged_paths(ws, include_deleted=True)
    for link in linked_data_files(ws, None if whole_workspace else staged):
        reporter.finding(link, f"{'committed' if whole_workspace else 'staged'} as a symbolic link: drumgate's"
                         " artifacts, configs and licence notes are regular files (a link reads as the file gone)",
                         hint=link_fix(ws, link))
    if whole_workspace:
        groups: dict[str, list[Artifact]] = {group: [] for group in lock_groups(ws)}
    elif not any(is_data_path(path) or path == READINESS_PLAN for path in staged):
        return reporter.close()
    else:
        groups = touched_groups(ws, staged)
    for lock in deleted_locks(ws, committed_locks(ws) if whole_workspace else staged):
        reporter.finding(lock, "lineage lock deleted while artifacts it records are still there",
                         hint=f"fix: {restore_command(lock, root=ws.root)}")
    problems: dict[str, list[LineageProblem]] = {}
    missing: dict[str, tuple[str, list[str]]] = {}
    for group, artifacts in sorted(groups.items()):
        if not ws.lock_file(group).is_file():
            # staged deletions alone: the whole group is going, lock and artifacts together (a dataset removed)
            if any(a.manifest in GENERATED_KINDS and ws.path(a.path).exists() for a in artifacts):
                reporter.finding(ws.rel(ws.lock_file(group)), f"no lineage lock for the staged {group} artifacts",
                                 hint=lost_lock_fix(ws, group))
            continue
        try:
            problems[group] = check(ws, group)
        except DrumgateError as err:
            reporter.add(err)
            continue
        missing[group] = missing_companions(ws, group, artifacts)
    candidates = [problem.artifact for found in problems.values() for problem in found]
    # --all judges the tree as it stands, whatever is staged (a CI job before it commits anything)
    state = UNTRACKED if whole_workspace else git_state(ws, staged, candidates)
    causes = sort_causes(ws, problems, state)
    if not whole_workspace:
        unrecorded_artifacts(ws, staged, state, causes, reporter)
    for group, (events, whats) in missing.items():
        if whats:
            causes.add_stale(group, events, f"staged with {', '.join(whats)}", [f"{group}: {what}" for what in whats])
    report_deleted_notes(ws, reporter, causes)
    report_causes(ws, reporter, causes, state)
    return reporter.close()

"""The taxonomy hook's side of a changed taxonomy: every problem of the two taxonomy files at once,
the configs that name classes checked against it, and the committed events manifests' labels.

A renamed or removed class breaks every file that names it, staged or not, so when a taxonomy file is
staged the whole workspace is judged by it; each finding names the file that must change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from checks._hookutil import Reporter
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace

TAXONOMY_FILES = ("configs/technique_taxonomy.json", "configs/crash_dual_label.json")
# (workspace, loaded taxonomy) -> the problems of one config that names classes; empty when it is absent
ConfigCheck = Callable[[Workspace, Any], list[DrumgateError]]


def relative_path(ws: Workspace, path: Any) -> Any:
    """A finding's path as the other hooks print it: relative to the workspace root."""
    return ws.rel(path) if path is not None else None


def undo_command(ws: Workspace, staged: Sequence[str]) -> str | None:
    """`git checkout HEAD -- <the staged taxonomy files that differ from HEAD's>`, or None when none does
    (a file committed damaged is not undone by checking it out)."""
    from drumgate.git import restorable, restore_command

    committed = [name for name in staged if restorable(ws.root, name)]
    return restore_command(*committed, root=ws.root) if committed else None


def _own_undo(ws: Workspace, relative: str, staged: Sequence[str]) -> str | None:
    """The way back for a staged taxonomy file: HEAD's version when it differs from it, else (committed
    as it is, damaged) drumgate's default written again by `drumgate init`, which keeps every other file."""
    import shlex

    from drumgate.config import restore_configs_fix
    from drumgate.git import in_head

    if relative not in staged:
        return None
    undo = undo_command(ws, [relative])
    if undo is not None:
        return f"{undo} to undo the change"
    if not in_head(ws.root, relative):
        return None
    init = restore_configs_fix(ws.root).removeprefix("fix: ")
    return f"rm {shlex.quote(str(ws.path(relative)))} && {init} to write drumgate's default again"


def with_undo(way: str, undo: str | None) -> str:
    return with_way(way, f"{undo} to undo the change" if undo else None)


def with_way(way: str, other: str | None) -> str:
    return f"fix: {way}, or {other}" if other else f"fix: {way}"


def load_reported(ws: Workspace, reporter: Reporter, staged: Sequence[str]) -> Any:
    """The workspace's Taxonomy, or None after reporting every problem of both files (the undo each
    fix offers is of the file named, when it is one of the `staged`)."""
    from drumgate.config import load_config_json
    from drumgate.taxonomy import CRASH_FILE, TAXONOMY_FILE, document_problems, parse_taxonomy

    documents: dict[str, Any] = {}
    for name, schema in ((TAXONOMY_FILE, "technique_taxonomy"), (CRASH_FILE, "crash_dual_label")):
        try:
            documents[name] = load_config_json(ws, name, schema)
        except DrumgateError as err:
            err.path = relative_path(ws, err.path)
            reporter.add(err, with_way(f"correct {err.path}", _own_undo(ws, str(err.path), staged)))
    if len(documents) < 2:
        return None
    raw, crash_raw = documents[TAXONOMY_FILE], documents[CRASH_FILE]
    problems = document_problems(raw, crash_raw)
    for name, message in problems:
        relative = ws.rel(ws.configs / name)
        undo = _own_undo(ws, relative, staged)
        reporter.finding(relative, message, hint=with_way(f"correct it in {relative}", undo))
    return None if problems else parse_taxonomy(raw, crash_raw, ws.configs / TAXONOMY_FILE)


def check_class_configs(ws: Workspace, taxonomy: Any, checks: Sequence[ConfigCheck], reporter: Reporter,
                        undo: str | None) -> None:
    """Each config that names classes against the staged taxonomy, with the loader's own rules."""
    for check in checks:
        for err in check(ws, taxonomy):
            err.path = relative_path(ws, err.path)
            own = (err.hint or "").removeprefix("fix: ")
            way = f"{own} in {err.path}" if own and str(err.path) not in own else own
            err.hint = None
            reporter.add(err, with_undo(way or f"change it in {err.path} to a name the taxonomy has", undo))


def committed_manifests(ws: Workspace, staged: set[str]) -> list[Any]:
    """The events manifests and parts git tracks in the workspace, other than the staged ones."""
    from drumgate.artifacts import MANIFESTS_DIR, classify
    from drumgate.git import git_text

    listed = git_text(["ls-files", "-z", "--", MANIFESTS_DIR], ws.root) or ""
    found = []
    for relative in sorted(name for name in listed.split("\0") if name and name not in staged):
        artifact = classify(relative)
        if (artifact is not None and artifact.schema == "events" and (artifact.is_jsonl or artifact.is_part)
                and ws.path(relative).is_file()):
            found.append(artifact)
    return found


def label_problems(keys: Any, taxonomy: Any, judge: Callable[[Any, Any], list[tuple[str, str]]]) -> list[str]:
    """The distinct taxonomy problems of a manifest's distinct label combinations."""
    return list(dict.fromkeys(message for key in keys for message, _ in judge(taxonomy, key)))


def check_committed(ws: Workspace, artifact: Any, taxonomy: Any, reporter: Reporter, undo: str | None,
                    keys: Any, judge: Callable[[Any, Any], list[tuple[str, str]]]) -> None:
    """One finding per distinct problem of a committed manifest: its rows did not change, the taxonomy
    did, so the way out is the taxonomy (an alias keeps the old name) or the manifest regenerated."""
    from drumgate.lineage import lock_groups

    if keys is None:
        reporter.note(artifact.path, "not checked against the staged taxonomy: its lines do not all read "
                                     f"(drumgate hook schema {artifact.path} says why)")
        return
    problems = label_problems(keys, taxonomy, judge)
    if not problems:
        return
    ways = [f"{undo} to undo the change"] if undo else []
    if artifact.group in lock_groups(ws):
        ways.append(f"drumgate repro {artifact.group} to write it again once the configs agree")
    for message in problems:
        alias = ["add the old name to configs/technique_taxonomy.json as an alias"] if message.startswith("unknown") \
            else []
        reporter.finding(artifact.path, message,
                         hint="fix: " + (", or ".join([*alias, *ways]) or "correct configs/technique_taxonomy.json"))

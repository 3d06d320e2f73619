"""A side's licence terms for `drumgate pr-report`: each dataset's note where that side's
`configs/datasets.toml` points (`note_of`), read from git objects, and the combined manifest's terms
merged from the notes of the sources it mixes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from drumgate.artifacts import licence_note
from drumgate.config import load_datasets
from drumgate.errors import DrumgateError
from drumgate.github.git_tree import GitTree, short_sha
from drumgate.workspace import Workspace


def note_of(side_ws: Workspace, dataset: str) -> str:
    """The licence note the side's `configs/datasets.toml` names for `dataset`; the conventional path
    when it does not configure the dataset (or cannot be read: its error is worded elsewhere)."""
    try:
        configured = load_datasets(side_ws).datasets.get(dataset)
    except DrumgateError:
        configured = None
    return configured.licence_note if configured is not None else licence_note(dataset)


def licence_constraints(tree: GitTree, rev: str, rel: str | None) -> tuple[dict[str, str] | None, str | None]:
    """The constraints of the note at `rel` at `rev`, or the one-line reason it cannot be read."""
    from drumgate.licences import parse_licence_note

    if rel is None:
        return None, None
    where = Path(f"{short_sha(rev)}:{rel}")
    try:
        return parse_licence_note(tree.read_text(rev, rel), where).constraints(), None
    except DrumgateError as err:
        return None, str(err)


def combined_licence_constraints(
    tree: GitTree, side_ws: Workspace, rev: str, mixed: Sequence[str]
) -> tuple[dict[str, str] | None, str | None]:
    """The combined manifest inherits every mixed source's constraints: one line per key, per dataset."""
    notes = {ds: note_of(side_ws, ds) for ds in mixed}
    present = tree.existing(rev, list(notes.values()))
    merged: dict[str, list[str]] = {}
    for dataset, rel in notes.items():
        if rel not in present:
            continue
        constraints, error = licence_constraints(tree, rev, rel)
        if error:
            return None, error
        for key, value in (constraints or {}).items():
            merged.setdefault(key, []).append(f"{dataset}: {value}")
    return ({key: "; ".join(values) for key, values in merged.items()} or None), None

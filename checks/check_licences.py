"""Hook: every dataset with staged artifacts has a complete licence note `data/licenses/<ds>.md`.

A complete note has front matter with licence, commercial_use, redistribution, attribution and
source (`drumgate.licences`). A staged licence note is checked itself. The combined group needs
the notes of the datasets it actually mixes, as `combine` recorded them in the group's lock. A staged
`configs/datasets.toml` needs the note of each dataset it adds (or points at another note) against
HEAD: a table whose note does not exist committed cleanly, and only the dataset's ingest refused.
Each dataset is reported once per run; the hook runs serially (`require_serial`), so pre-commit
never splits the files into parallel batches that would each report the same note.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from checks._hookutil import Reporter, unique, workspace_relative
from drumgate.artifacts import ArtifactRegistry, classify, licence_note
from drumgate.errors import DrumgateError
from drumgate.git import git_at, git_blob, git_text
from drumgate.workspace import COMBINED, Workspace

DATASETS_CONFIG = "configs/datasets.toml"

if TYPE_CHECKING:
    from drumgate.config import DatasetsConfig


def recorded_mix(ws: Workspace, config: DatasetsConfig) -> list[str]:
    """The datasets the combined manifest actually mixes, as `combine` recorded them: the source events
    manifests its lock lists as inputs of the combined events manifest. Before combine has run, the
    datasets it would mix (a mix share and an events manifest), never every name in `[combined] mix`."""
    from drumgate.commands.repro_locks import recorded_sources
    from drumgate.reports.combined import mixed_datasets

    recorded = recorded_sources(ws, str(config.combined.get("group", COMBINED)))
    if recorded is None:
        return mixed_datasets(config, lambda name: _has_events(ws, name))
    return sorted(recorded)


def _has_events(ws: Workspace, dataset: str) -> bool:
    manifest = ws.events_manifest(dataset)
    return manifest.is_file() or manifest.with_name(manifest.name + ".gz").is_file()


def datasets_needing_notes(
    ws: Workspace, groups: list[str], notes_only: frozenset[str] = frozenset()
) -> list[tuple[str, str, str]]:
    """(dataset, licence note path, why) for each dataset the staged groups draw on."""
    from drumgate.config import load_datasets

    config = load_datasets(ws)
    known = ArtifactRegistry.from_config(config)
    combined_group = known.combined_group
    needed: list[tuple[str, str, str]] = []
    for group in groups:
        if group == combined_group:  # a mixed dataset since removed from the config needs no note: combine goes next
            members = [name for name in recorded_mix(ws, config) if name in config.datasets]
            why = f"{group} mixes it"
        else:
            members = known.members(group)
            why = "its licence note changed" if group in notes_only else "it has staged artifacts"
            if not members:
                needed.append((group, licence_note(group), "not a dataset in configs/datasets.toml"))
        for name in members:
            needed.append((name, known.notes.get(name, ""), why))
    return needed


def _notes_named(text: bytes | None) -> dict[str, Any]:
    """dataset -> its `licence_note` in a datasets config's text (empty when there is none to read)."""
    try:
        tables = tomllib.loads(text.decode("utf-8")).get("datasets") if text is not None else None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    if not isinstance(tables, dict):
        return {}
    return {name: table.get("licence_note") for name, table in tables.items() if isinstance(table, dict)}


def datasets_added(ws: Workspace) -> list[tuple[str, str]]:
    """(dataset, licence note) of each dataset the workspace's `configs/datasets.toml` names with a note
    that HEAD's does not (a new table, or one pointed at another note); every one before a first commit."""
    from drumgate.config import load_datasets

    before = _notes_named(git_blob(["show", f"HEAD:./{DATASETS_CONFIG}"], ws.root))
    return [(name, config.licence_note) for name, config in load_datasets(ws).datasets.items()
            if before.get(name) != config.licence_note]


def check_note(ws: Workspace, dataset: str, note: str, why: str, reporter: Reporter) -> None:
    from drumgate.licences import REQUIRED_KEYS, read_licence_note

    template = "fix: write {note} with a front matter block (--- lines) holding " + ", ".join(REQUIRED_KEYS)
    if not note:
        reporter.finding(
            None,
            f"dataset {dataset} ({why}) has no licence_note in configs/datasets.toml",
            hint='fix: add licence_note = "data/licenses/<ds>.md" to its section',
        )
        return
    path = ws.path(note)
    if not path.is_file():
        from drumgate.licences import missing_note_command

        command = missing_note_command(ws.root, note)  # a deleted note: the freshness hook prints the same
        hint = f"fix: {command}" if command else template.format(note=note)
        reporter.finding(note, f"licence note for {dataset} is missing ({why})", hint=hint)
        return
    try:
        parsed = read_licence_note(path)
    except DrumgateError as err:
        err.path = note
        reporter.add(err, template.format(note=note))
        return
    if parsed.missing:
        reporter.finding(
            note,
            f"licence note incomplete: {parsed.lacking}",
            hint=f"fix: {parsed.fill_in()}",
        )


def check_files(ws: Workspace, filenames: Sequence[str], reporter: Reporter) -> int:
    """The licence note of every dataset the staged artifacts belong to (or mix), each once."""
    relatives = [workspace_relative(ws, name) for name in filenames]
    artifacts = [classify(relative) for relative in relatives]
    found = [a for a in artifacts if a is not None and a.group is not None]
    for relative, artifact in zip(relatives, artifacts, strict=True):
        if artifact is not None and artifact.group is not None:
            reporter.checking(relative)  # its dataset's licence note is checked
    groups = unique(a.group for a in found)
    needed: list[tuple[str, str, str]] = []
    if DATASETS_CONFIG in relatives:
        reporter.checking(DATASETS_CONFIG)
        needed += [(name, note, f"{DATASETS_CONFIG} adds it") for name, note in datasets_added(ws)]
    notes_only = frozenset(groups) - {a.group for a in found if a.kind != "licence"}
    if groups:
        needed += datasets_needing_notes(ws, groups, notes_only)
    checked: set[str] = set()
    for dataset, note, why in needed:
        if dataset in checked:
            continue
        checked.add(dataset)
        check_note(ws, dataset, note, why, reporter)
        if why == f"{DATASETS_CONFIG} adds it" and note and left_untracked(ws, note):
            reporter.finding(note, f"licence note for {dataset} is not in the commit ({why})",
                             hint=f"fix: {git_at(ws.root)}add {shlex.quote(note)}")
    return reporter.close()


def left_untracked(ws: Workspace, note: str) -> bool:
    """A note on disk that git's index does not hold (never added): the commit would lack it."""
    if not ws.path(note).is_file() or git_text(["rev-parse", "--git-dir"], ws.root) is None:
        return False
    return git_text(["ls-files", "--error-unmatch", "--", note], ws.root) is None

"""Licence notes `data/licenses/<ds>.md`: Markdown with a front matter block of `key: value` lines.

```
---
licence: CC BY 4.0
commercial_use: yes
redistribution: yes
attribution: "..."
source: https://...
---
```
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from drumgate.artifacts import LICENCES_DIR
from drumgate.errors import DrumgateError
from drumgate.io.fsutil import read_bytes

if TYPE_CHECKING:
    from drumgate.workspace import Workspace

REQUIRED_KEYS = ("licence", "commercial_use", "redistribution", "attribution", "source")
FENCE = "---"


@dataclass(frozen=True)
class LicenceNote:
    path: Path
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [key for key in REQUIRED_KEYS if not self.fields.get(key, "").strip()]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def lacking(self) -> str:
        """What `missing` lacks, in words: `no licence` for a key not there, `commercial_use empty` for a
        key there without a value."""
        absent = [key for key in self.missing if key not in self.fields]
        empty = [key for key in self.missing if key in self.fields]
        words = ([f"no {', '.join(absent)}"] if absent else []) + ([f"{', '.join(empty)} empty"] if empty else [])
        return " and ".join(words)

    def fill_in(self, where: str = "its front matter") -> str:
        """The fix's words for `missing`: what to fill in, and where."""
        return f"fill in {', '.join(self.missing)} in {where}"

    def constraints(self) -> dict[str, str]:
        """What downstream users must respect, as recorded in provenance and reports."""
        return {key: self.fields.get(key, "") for key in ("licence", "commercial_use", "redistribution", "attribution")}


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_licence_note(text: str, path: Path) -> LicenceNote:
    lines = text.splitlines()
    if not lines or lines[0].strip() != FENCE:
        raise DrumgateError("licence note has no front matter (first line must be ---)", path=path, line=1)
    fields: dict[str, str] = {}
    first_on: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == FENCE:
            return LicenceNote(path, fields)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise DrumgateError(f"front matter line is not `key: value`: {line!r}", path=path, line=number)
        key = key.strip()
        if key in first_on:  # which of the two terms holds? the note must say one thing
            raise DrumgateError(f"{key} is set twice (first on line {first_on[key]})", path=path, line=number,
                                hint=f"fix: keep one {key} line in the front matter")
        stripped = value.strip()
        quoted = stripped[:1] in ("'", '"')
        closing = stripped.find(stripped[0], 1) if quoted else len(stripped) - 1
        if quoted and closing == -1:
            raise DrumgateError(f"{key}: the quote {stripped[0]} is not closed", path=path, line=number,
                                hint=f"fix: end the value with {stripped[0]}, or drop the opening one")
        if quoted and closing != len(stripped) - 1:
            raise DrumgateError(f"{key}: text after the closing quote: {stripped[closing + 1:][:40]!r}", path=path,
                                line=number, hint="fix: put the whole value inside the quotes (a note can go below)")
        first_on[key] = number
        fields[key] = _unquote(value)
    raise DrumgateError("front matter is not closed by a --- line", path=path)


def read_licence_note(path: str | Path) -> LicenceNote:
    note_path = Path(path)
    if not note_path.exists():
        shown = f"data/licenses/{note_path.name}"
        command = missing_note_command(_workspace_root(note_path, shown), shown)
        hint = f"fix: {command}" if command else "write it with front matter: " + ", ".join(REQUIRED_KEYS)
        raise DrumgateError("licence note missing", path=note_path, hint=hint)
    try:
        text = read_bytes(note_path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DrumgateError("licence note is not valid UTF-8", path=note_path) from exc
    return parse_licence_note(text, note_path)


def missing_note_command(root: Path | None, note: str) -> str | None:
    """The command that brings a missing licence note back: its committed version when that differs from
    what is there (the terms the team reviewed), else `drumgate init`, which writes the publisher's terms
    drumgate ships for a dataset it knows (only files that are absent: a note committed as a link or a
    folder is removed first); None for a note of no known dataset."""
    import os

    from drumgate.artifacts import licence_note
    from drumgate.git import restorable, restore_command, user_is_at
    from drumgate.workspace import DEFAULTS

    if root is not None and restorable(root, note):
        return restore_command(note, root=root)
    name = Path(note).stem
    if note == licence_note(name) and (DEFAULTS / "licenses" / f"{name}.md").is_file():
        # `drumgate init` makes the current folder a data repository: from a subfolder, name the root
        here = root is None or user_is_at(root)
        init = "drumgate init" if here else f"drumgate init {shlex.quote(str(root))}"
        if root is None or not os.path.lexists(path := root / note):
            return init
        shown = shlex.quote(note if here else str(path))
        remove = "rm -r" if path.is_dir() and not path.is_symlink() else "rm"
        return f"{remove} {shown} && {init}"
    return None


def named_in_config(ws: Workspace, note: str) -> bool:
    """Whether `configs/datasets.toml` names `note` (workspace-relative) as a dataset's licence note; True
    when the config cannot be read. A note it no longer names (renamed, its dataset removed) is not
    needed: what read it is only stale."""
    from drumgate.artifacts import registry

    try:
        return note in registry(ws).notes.values()
    except DrumgateError:
        return True


def _workspace_root(path: Path, shown: str) -> Path | None:
    """The folder `shown` (workspace-relative) is relative to, when `path` is that folder joined with it."""
    depth = len(Path(shown).parts)
    if Path(shown).is_absolute() or len(path.parts) <= depth or path.parts[-depth:] != Path(shown).parts:
        return None
    return path.parents[depth - 1]


def licence_for_ingest(path: Path, shown: str, rerun: str) -> dict[str, str]:
    """The one licence policy of every ingestor: the note's constraints, or a refusal before anything is written.

    A missing, unreadable or incomplete note stops the ingest with one line (exit 2) naming the note,
    what it lacks and the command to rerun once it is filled in: provenance never records a licence
    nobody has reviewed.
    """
    fix = f"fix: fill in {', '.join(REQUIRED_KEYS)} in its front matter, then rerun {rerun}"
    if not path.exists() and (command := missing_note_command(_workspace_root(path, shown), shown)):
        fix = f"fix: {command}, then rerun {rerun}"  # there is no front matter to fill in
    try:
        note = read_licence_note(path)
    except DrumgateError as err:
        raise DrumgateError(err.message, path=shown, line=err.line, hint=fix) from None
    if note.missing:
        raise DrumgateError(
            f"licence note incomplete: {note.lacking}; {rerun} refuses to record an unreviewed licence",
            path=shown,
            hint=f"fix: {note.fill_in()}, then rerun {rerun}",
        )
    return note.constraints()


def unfinished_notes(root: Path, paths: Iterable[str]) -> str:
    """`fill in <keys> in <note>, then ` for each licence note among `paths` (workspace-relative) that
    lacks a field every ingest needs: a repro run before that would stop at the note. "" when none."""
    steps = []
    for rel in paths:
        if rel.startswith(f"{LICENCES_DIR}/") and rel.endswith(".md") and (root / rel).is_file():
            try:
                note = read_licence_note(root / rel)
            except DrumgateError:  # no front matter, a broken line: repro would stop there as well
                steps.append(f"mend {rel} (the licences hook names what is wrong in it), then ")
                continue
            except OSError:
                continue
            if note.missing:
                steps.append(f"{note.fill_in(rel)}, then ")
    return "".join(steps)

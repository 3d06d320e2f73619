"""`drumgate init [DIR]`: scaffold a data repository a team owns (DESIGN §8).

What it writes, each only when absent (a file the user already has is never overwritten, so a
second run changes nothing):

- `configs/`: taxonomy, crash dual-label map, stem rules, onset and MUSDB settings, schemas, and a
  `datasets.toml` holding the datasets named with `--datasets` (default: those the repository's
  `datasets.toml` already names, else all of them); a dataset named with `--datasets` that an
  existing `datasets.toml` lacks gets its default tables appended there (the combined mix is left
  for the team to decide);
- `data/raw/<ds>/`, the empty folder each dataset's raw files go in (git-ignored);
- `data/licenses/<ds>.md`: the publisher's licence terms for each dataset, for the team to review
  (the licence hook asks for any field left empty);
- `.gitignore` (raw corpora, lock guards, temporary files), `.pre-commit-config.yaml` with the
  drumgate hooks, the GitHub workflows (`pr-health`, `pr-comment`, `pr-hooks`, `ingest`) installing
  drumgate from `--install-spec`, and `DATASET_READINESS_PLAN.md`.

In a git repository it also runs `pre-commit install`. Everything comes from drumgate's package
data, so it works the same from a wheel as from a checkout.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drumgate.artifacts import licence_note
from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_bytes
from drumgate.workspace import DEFAULTS, packaged_datasets

WORKFLOWS = ("pr-health.yml", "pr-comment.yml", "pr-hooks.yml", "ingest.yml")
# A workflow step that installs drumgate from the checkout it runs in (`pip install [-e] .`).
_INSTALL_FROM_CHECKOUT = re.compile(r"(pip install(?: --[a-z-]+)*) (?:-e )?\.(?=\s*$)", re.MULTILINE)
_INSTALL_SPEC = re.compile(r'(pip install(?: --[a-z-]+)*) "[^"\n]*"(?=\s*$)', re.MULTILINE)
_TABLE = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$", re.MULTILINE)
_MIX = re.compile(r"^mix = \{[^}]*\}$", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    path: str
    action: str  # "wrote" | "kept" (already there, maybe edited by the user) | "unchanged" | "added <ds>, ..."


def parse_datasets(text: str, command: Callable[[str], str], aliases: Mapping[str, str]) -> tuple[str, ...]:
    """The datasets `--datasets` names, in any case or by an alias the other commands take (`musdb`);
    an unknown one is refused with `command` (the user's own command line for a `--datasets` value)
    run on the known name it is closest to, or without it."""
    typed = [name.strip().lower() for name in text.split(",") if name.strip()]
    chosen = tuple(dict.fromkeys(aliases.get(name, name) for name in typed))
    known = packaged_datasets()
    unknown = [name for name in chosen if name not in known]
    if not chosen or unknown:
        import difflib  # only a refused name pays for it

        meant = [name if name in known else next(iter(difflib.get_close_matches(name, known, n=1)), None)
                 for name in chosen]
        kept = [name for name in dict.fromkeys(meant) if name is not None] or list(known)
        raise DrumgateError(
            f"--datasets {text!r}: unknown dataset{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            f" (known: {', '.join(known)})" if unknown
            else "--datasets is empty",
            hint=f"fix: {command(','.join(kept))}",
        )
    return chosen


def datasets_toml(default_text: str, chosen: Sequence[str]) -> str:
    """The default `datasets.toml` with only the chosen datasets' tables, and of the default combined mix
    only the chosen datasets (an evaluation set the default mix leaves out stays out)."""
    starts = [match.start() for match in _TABLE.finditer(default_text)]
    head = default_text[: starts[0]] if starts else default_text
    kept = [head]
    for start, end in zip(starts, [*starts[1:], len(default_text)], strict=True):
        block = default_text[start:end]
        name = _TABLE.match(block, 0)
        table = name["name"] if name else ""
        parts = table.split(".")
        if parts[0] == "datasets" and len(parts) > 1 and parts[1] not in chosen:
            continue
        kept.append(block)
    default_mix = tomllib.loads(default_text).get("combined", {}).get("mix", {})
    shares = ", ".join(f"{name} = {default_mix[name]!r}" for name in chosen if name in default_mix)
    mix = f"mix = {{ {shares} }}" if shares else "mix = {}"
    return _MIX.sub(mix, "".join(kept))


def configured_datasets(root: Path) -> tuple[str, ...] | None:
    """The datasets an existing `configs/datasets.toml` names, or None when there is none. One that
    does not parse or does not match the schema stops init, worded at its line: init keeps a file it
    finds, and every later command would fail on it. The committed file back only when that changes it
    (one committed damaged is moved aside and written again)."""
    from drumgate.config import load_toml, validate_against_schema
    from drumgate.git import restorable, restore_command
    from drumgate.io.jsonio import PACKAGE_SCHEMAS

    path = root / "configs" / "datasets.toml"
    if not os.path.lexists(path):
        return None
    relative, shown = "configs/datasets.toml", shlex.quote(str(path))
    aside = (f"fix: mv {shown} {shown}.broken && drumgate init {shlex.quote(str(root))} to write drumgate's defaults,"
             f" then copy your own settings back from {shown}.broken")
    hint = f"fix: {restore_command(relative)}" if restorable(root, relative) else aside
    try:
        if not path.is_file():
            raise DrumgateError("not a file", path=path)
        raw = load_toml(path)
        validate_against_schema(raw, PACKAGE_SCHEMAS / "datasets_config.schema.json", path)
    except DrumgateError as err:
        err.hint = hint
        raise
    return tuple(raw["datasets"])


def with_datasets_added(existing: str, default_text: str, added: Sequence[str]) -> str:
    """A user's `datasets.toml` with the default tables of the `added` datasets appended, unchanged above."""
    blocks = datasets_toml(default_text, added)
    starts = [match.start() for match in _TABLE.finditer(blocks)]
    tables = "".join(
        blocks[start:end]
        for start, end in zip(starts, [*starts[1:], len(blocks)], strict=True)
        if blocks[start:end].startswith("[datasets.")
    )
    return existing.rstrip("\n") + "\n\n" + tables.rstrip("\n") + "\n"


def workflow_text(template: str, install_spec: str) -> str:
    """A project workflow made for a data repository: drumgate comes from `install_spec`."""
    quoted = '"' + install_spec.replace('"', "") + '"'
    return _INSTALL_FROM_CHECKOUT.sub(lambda m: f"{m.group(1)} {quoted}", template)


def _only_the_install_spec_differs(target: Path, content: bytes) -> bool:
    """Whether a workflow init wrote differs from `content` in its `pip install "SPEC"` lines alone (a
    workflow edited otherwise is the team's own and is kept)."""
    if target.is_symlink() or not target.is_file():
        return False
    try:
        existing = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    blank = lambda text: _INSTALL_SPEC.sub(lambda m: f'{m.group(1)} ""', text)  # noqa: E731
    return blank(existing) == blank(content.decode("utf-8"))


def planned_files(chosen: Sequence[str], install_spec: str) -> Iterator[tuple[str, bytes]]:
    """Every (workspace-relative path, content) `init` writes."""
    configs = DEFAULTS / "configs"
    for source in sorted(configs.rglob("*")):
        if source.is_file():
            relative = source.relative_to(configs).as_posix()
            content = source.read_bytes()
            if relative == "datasets.toml":
                content = datasets_toml(content.decode("utf-8"), chosen).encode("utf-8")
            yield f"configs/{relative}", content
    for name in chosen:
        yield licence_note(name), (DEFAULTS / "licenses" / f"{name}.md").read_bytes()
    yield ".gitignore", (DEFAULTS / "gitignore").read_bytes()
    from drumgate.commands.init_hooks import local_config

    yield ".pre-commit-config.yaml", local_config().encode("utf-8")
    for name in WORKFLOWS:
        template = (DEFAULTS / "workflows" / name).read_text(encoding="utf-8")
        yield f".github/workflows/{name}", workflow_text(template, install_spec).encode("utf-8")
    yield "DATASET_READINESS_PLAN.md", (DEFAULTS / "DATASET_READINESS_PLAN.md").read_bytes()


def _check_target(root: Path) -> None:
    if root.exists() and not root.is_dir():
        free = next(root.with_name(f"{root.name}-repo{n or ''}") for n in range(1000)
                    if not root.with_name(f"{root.name}-repo{n or ''}").exists())
        raise DrumgateError("is a file, not a folder", path=root, hint=f"fix: drumgate init {shlex.quote(str(free))}")
    existing = root if root.exists() else next((p for p in root.parents if p.exists()), root)
    if not os.access(existing, os.W_OK | os.X_OK):
        home = shlex.quote(str(Path.home() / "drum-data"))
        raise DrumgateError("folder is not writable", path=existing, hint=f"fix: drumgate init {home}")


def _write(target: Path, content: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, content)
    except OSError as exc:
        raise DrumgateError(f"cannot write: {exc.strerror or exc}", path=target) from exc


def _add_datasets(target: Path, default: bytes, chosen: Sequence[str], configured: Sequence[str] | None
                  ) -> list[str]:
    """Append to an existing `datasets.toml` the chosen datasets it lacks (`configured`: those it
    names, `configured_datasets`); the names added."""
    if configured is None:  # unreadable: the config loader words it on the next command
        return []
    added = [name for name in chosen if name not in configured]
    if added:
        text = with_datasets_added(target.read_text(encoding="utf-8"), default.decode("utf-8"), added)
        _write(target, text.encode("utf-8"))
    return added


def scaffold(root: Path, chosen: Sequence[str], install_spec: str, configured: Sequence[str] | None,
             respec: bool = False) -> list[Outcome]:
    """Write what is missing; `configured` is what the repository's datasets.toml names (None: none).
    `respec` (an install spec typed): a workflow that differs only in its install spec takes this one."""
    _check_target(root)
    outcomes: list[Outcome] = []
    for relative, content in planned_files(chosen, install_spec):
        target = root / relative
        if relative == "configs/datasets.toml" and target.is_file():
            added = _add_datasets(target, (DEFAULTS / "configs" / "datasets.toml").read_bytes(), chosen, configured)
            if added:
                outcomes.append(Outcome(relative, "added " + ", ".join(added)))
                continue
        if target.exists() or target.is_symlink():
            same = target.is_file() and target.read_bytes() == content
            workflow = relative.startswith(".github/workflows/")
            if not same and respec and workflow and _only_the_install_spec_differs(target, content):
                _write(target, content)  # `init --install-spec` again: the way to pin it later
                outcomes.append(Outcome(relative, "wrote"))
                continue
            outcomes.append(Outcome(relative, "unchanged" if same else "kept"))
            continue
        _write(target, content)
        outcomes.append(Outcome(relative, "wrote"))
    for name in chosen:
        raw = root / "data" / "raw" / name
        try:
            raw.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DrumgateError(f"cannot create: {exc.strerror or exc}", path=raw) from exc
    return outcomes

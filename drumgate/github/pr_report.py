"""Health deltas between two revisions, rendered as the pull request's comment.

`drumgate pr-report --base REV --head REV --out DIR` finds the dataset groups whose artifacts or
configs changed between the merge base of the two revisions and head (a `configs/` change touches
every group), reads each group's events and sessions manifests at both sides straight from git
objects (no checkout; `.jsonl.gz` too; a manifest absent on one side counts as empty), computes
health at both sides with that side's own configs, diffs them, and writes:

- `DIR/summary.json`: the facts as data (`configs/schemas/pr_summary.schema.json`), the only thing
  the comment is rendered from;
- `DIR/comment.md`: the sticky PR comment rendered from that summary (for the step summary and
  local use; the workflow never posts this file);
- `DIR/reports/<ds>_{base,head}.json`, `<ds>_head.html`, `<ds>_diff.json` (and weights).

`drumgate pr-report --from-summary FILE --out DIR` is the trusted half (pr-comment.yml): it reads a
summary.json made by someone else's code, validates it against the schema and a few rules the
schema cannot say (a capped size, tallies that add up), and renders `DIR/comment.md` itself. A
summary it cannot trust is refused with one line (exit 2); nothing from it is posted as text.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from drumgate import cli
from drumgate.artifacts import classify
from drumgate.config import load_datasets
from drumgate.errors import EXIT_OK, DrumgateError
from drumgate.github import pr_render
from drumgate.io.fsutil import atomic_write_text
from drumgate.io.jsonio import LFS_HINT, LFS_POINTER_PREFIX, dumps_document, parse_line, read_json, write_json
from drumgate.workspace import COMBINED, DEFAULTS, Workspace

SCHEMA_VERSION = 3
DEFAULT_ARTIFACT = "drumgate-health"
MAX_ROW_ERRORS = 20
WEIGHTS_SCHEME = "effective"
Row = dict[str, Any]


# Git access -----------------------------------------------------------------------------------
class GitTree:
    """Read-only access to the revisions of the repository holding the workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        top = self.git("rev-parse", "--show-toplevel", cwd=ws.root).strip()
        if not top:
            raise DrumgateError("the workspace is not inside a git repository", path=ws.root)
        self.prefix = self.git("rev-parse", "--show-prefix", cwd=ws.root).strip()

    def git(self, *args: str, cwd: Path | None = None) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=cwd or self.ws.root, capture_output=True, check=False)
        except OSError as exc:
            raise DrumgateError(f"cannot run git: {exc.strerror}", hint="install git") from exc
        if done.returncode != 0:
            message = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["failed"])[-1]
            raise DrumgateError(f"git {args[0]}: {message}", path=cwd or self.ws.root)
        # a file name that is not UTF-8 cannot name an artifact: shown with U+FFFD, it matches none
        return done.stdout.decode("utf-8", "replace")

    def resolve(self, rev: str) -> str:
        if rev.startswith("-"):
            raise DrumgateError(f"revision {rev!r} may not start with '-'")
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
        except DrumgateError:
            raise DrumgateError(
                f"unknown revision {rev!r}", hint="fetch full history (actions/checkout fetch-depth: 0)"
            ) from None

    def merge_base(self, base: str, head: str) -> str:
        try:
            return self.git("merge-base", base, head).strip()
        except DrumgateError:
            return base

    def changed_paths(self, base: str, head: str) -> list[str]:
        """Workspace-relative paths changed between the two commits."""
        out = self.git("diff", "--name-only", "--no-renames", "-z", base, head, "--", ".")
        names = [name for name in out.split("\0") if name]
        return sorted(name[len(self.prefix) :] for name in names if name.startswith(self.prefix))

    def spec(self, rev: str, rel: str) -> str:
        return f"{rev}:{self.prefix}{rel}"

    def existing(self, rev: str, rels: Sequence[str]) -> set[str]:
        """Which of `rels` exist as files at `rev` (one `git cat-file --batch-check`)."""
        query = "".join(f"{self.spec(rev, rel)}\n" for rel in rels)
        done = subprocess.run(
            ["git", "cat-file", "--batch-check=%(objecttype)"],
            cwd=self.ws.root,
            input=query,
            capture_output=True,
            text=True,
            check=False,
        )
        answers = done.stdout.splitlines()
        return {rel for rel, answer in zip(rels, answers, strict=False) if answer.strip() == "blob"}

    def read_text(self, rev: str, rel: str) -> str:
        """A text blob; one that is not UTF-8 is a DrumgateError naming `rev:path`."""
        with self.stream(rev, rel) as handle:
            data = handle.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DrumgateError("not valid UTF-8", path=f"{_short(rev)}:{rel}", hint="save it as UTF-8") from exc

    @contextlib.contextmanager
    def stream(self, rev: str, rel: str) -> Iterator[IO[bytes]]:
        """The blob's bytes as a stream (decompressed for `.gz`), never held whole in memory."""
        proc = subprocess.Popen(
            ["git", "cat-file", "blob", self.spec(rev, rel)],
            cwd=self.ws.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        try:
            handle: IO[bytes] = proc.stdout
            if rel.endswith(".gz"):
                handle = gzip.GzipFile(fileobj=proc.stdout, mode="rb")  # type: ignore[assignment]
            yield handle
        finally:
            proc.stdout.close()
            proc.wait()

    def extract_configs(self, rev: str, dest: Path) -> bool:
        """Write `configs/` as it is at `rev` under `dest`; False when that revision has none."""
        if not self.existing(rev, ["configs/datasets.toml"]):
            return False
        done = subprocess.run(
            ["git", "archive", "--format=tar", rev, "--", f"{self.prefix}configs"],
            cwd=self.ws.root,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            return False
        try:
            with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
                _extract_data_only(archive, dest)
        except (tarfile.TarError, OSError) as exc:
            raise DrumgateError(
                f"configs/ cannot be read safely ({exc})", path=f"{_short(rev)}:configs",
                hint="replace links in configs/ that lead outside it with the files themselves",
            ) from exc
        if self.prefix:
            (dest / self.prefix / "configs").rename(dest / "configs")
        return True


def _extract_data_only(archive: tarfile.TarFile, dest: Path) -> None:
    """Extract with tarfile's "data" filter; Pythons before 3.11.4 lack it, so the same rules are
    checked by hand there: regular files and folders only, nothing absolute or climbing out."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, filter="data")
        return
    members = archive.getmembers()
    for member in members:
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"{member.name!r} is a link, a device or leads outside configs/")
    archive.extractall(dest, members=members)


# Reading one side ------------------------------------------------------------------------------
@dataclass
class RowErrors:
    """Malformed rows of one manifest at one revision: counted, the first few kept as text."""

    count: int = 0
    shown: list[str] = field(default_factory=list)

    def add_anywhere(self, error: DrumgateError) -> None:
        self.add(error, "")

    def add(self, error: DrumgateError, where: str) -> None:
        if error.path is None:
            error.path = where
        self.count += 1
        if len(self.shown) < MAX_ROW_ERRORS:
            self.shown.append(str(error))


def iter_blob_rows(tree: GitTree, rev: str, rel: str, where: str, errors: RowErrors) -> Iterator[tuple[int, Row]]:
    with tree.stream(rev, rel) as handle:
        try:
            for line_no, raw in enumerate(handle, start=1):
                if line_no == 1 and raw.startswith(LFS_POINTER_PREFIX):
                    raise DrumgateError("Git LFS pointer, not a manifest", path=where, hint=LFS_HINT)
                if not raw.strip():
                    continue
                try:
                    yield line_no, parse_line(raw, Path(where), line_no)
                except DrumgateError as err:
                    errors.add(err, where)
        except (gzip.BadGzipFile, EOFError, OSError) as exc:
            raise DrumgateError(f"damaged gzip stream ({exc})", path=where) from exc


def manifest_candidates(dataset: str, kind: str) -> list[str]:
    base = f"data/manifests/{dataset}_{kind}.jsonl"
    return [base, f"{base}.gz"]


@dataclass
class SideInputs:
    events: str | None
    sessions: str | None
    licence: str | None


def locate(tree: GitTree, rev: str, dataset: str) -> SideInputs:
    events = manifest_candidates(dataset, "events")
    sessions = manifest_candidates(dataset, "sessions")
    licence = f"data/licenses/{dataset}.md"
    present = tree.existing(rev, [*events, *sessions, licence])
    return SideInputs(
        events=next((p for p in events if p in present), None),
        sessions=next((p for p in sessions if p in present), None),
        licence=licence if licence in present else None,
    )


def _short(sha: str) -> str:
    return sha[:7]


@dataclass
class SideResult:
    rev: str
    inputs: SideInputs
    health: dict[str, Any]
    row_errors: RowErrors
    licence: dict[str, str] | None
    licence_error: str | None
    weights: dict[str, Any] | None

    @property
    def absent(self) -> bool:
        return self.inputs.events is None


def _licence_constraints(tree: GitTree, rev: str, rel: str | None) -> tuple[dict[str, str] | None, str | None]:
    from drumgate.licences import parse_licence_note

    if rel is None:
        return None, None
    where = Path(f"{_short(rev)}:{rel}")
    try:
        return parse_licence_note(tree.read_text(rev, rel), where).constraints(), None
    except DrumgateError as err:
        return None, str(err)


def _combined_licence_constraints(
    tree: GitTree, rev: str, mixed: Sequence[str]
) -> tuple[dict[str, str] | None, str | None]:
    """The combined manifest inherits every mixed source's constraints: one line per key, per dataset."""
    notes = {ds: f"data/licenses/{ds}.md" for ds in mixed}
    present = tree.existing(rev, list(notes.values()))
    merged: dict[str, list[str]] = {}
    for dataset, rel in notes.items():
        if rel not in present:
            continue
        constraints, error = _licence_constraints(tree, rev, rel)
        if error:
            return None, error
        for key, value in (constraints or {}).items():
            merged.setdefault(key, []).append(f"{dataset}: {value}")
    return ({key: "; ".join(values) for key, values in merged.items()} or None), None


def _session_rows(tree: GitTree, rev: str, rel: str | None, errors: RowErrors) -> Iterator[Row] | None:
    if rel is None:
        return None
    return (row for _, row in iter_blob_rows(tree, rev, rel, f"{_short(rev)}:{rel}", errors))


def mixed_sources(tree: GitTree, side_ws: Workspace, rev: str) -> dict[str, SideInputs]:
    """The datasets `combine` mixes at `rev`, by the rule it applies (drumgate.reports.combined.mixed_datasets)."""
    from drumgate.reports.combined import mixed_datasets

    found = {name: locate(tree, rev, name) for name in load_datasets(side_ws).datasets}
    mixed = mixed_datasets(load_datasets(side_ws), lambda name: found[name].events is not None)
    return {name: found[name] for name in mixed}


def _combined_session_rows(
    tree: GitTree, rev: str, sources: Mapping[str, SideInputs], errors: RowErrors
) -> Iterator[Row]:
    """The combined manifest's sessions: every mixed source's sessions as `combine` names them."""
    from drumgate.reports.combined import combined_session_rows

    for name, inputs in sources.items():
        rows = _session_rows(tree, rev, inputs.sessions, errors)
        if rows is not None:
            yield from combined_session_rows(name, rows)


def _side_sessions(
    tree: GitTree, rev: str, inputs: SideInputs, sources: Mapping[str, SideInputs] | None, errors: RowErrors
) -> Iterator[Row] | None:
    if sources is not None:
        return _combined_session_rows(tree, rev, sources, errors)
    return _session_rows(tree, rev, inputs.sessions, errors)


def _source_reports(
    tree: GitTree, side_ws: Workspace, rev: str, sources: Mapping[str, SideInputs]
) -> dict[str, dict[str, Any]]:
    """Each mixed source's own health at `rev`: what the combined manifest's source gates judge."""
    from drumgate.reports.health import compute_health

    reports = {}
    for name, inputs in sources.items():
        ignored = RowErrors()
        assert inputs.events is not None
        rows = iter_blob_rows(tree, rev, inputs.events, f"{_short(rev)}:{inputs.events}", ignored)
        reports[name] = compute_health(
            side_ws, name, rows, _session_rows(tree, rev, inputs.sessions, ignored),
            on_error=ignored.add_anywhere,
        )
    return reports


def compute_side(tree: GitTree, side_ws: Workspace, rev: str, dataset: str) -> SideResult:
    from drumgate.reports.combined import (
        add_song_leaks,
        add_source_gates,
        record_song_splits,
        song_leaks,
        waived_sources,
    )
    from drumgate.reports.health import compute_health

    inputs = locate(tree, rev, dataset)
    errors = RowErrors()
    events_where = f"{_short(rev)}:{inputs.events}"
    event_rows: Iterator[tuple[int, Row]] = (
        iter_blob_rows(tree, rev, inputs.events, events_where, errors) if inputs.events else iter(())
    )
    sources = mixed_sources(tree, side_ws, rev) if dataset == COMBINED and inputs.events else None
    song_splits: dict[str, dict[str, set[str]]] = {}
    if sources is not None:
        event_rows = record_song_splits(event_rows, song_splits)
    health = compute_health(
        side_ws,
        dataset,
        event_rows,
        _side_sessions(tree, rev, inputs, sources, errors),
        source={"events": inputs.events, "sessions": inputs.sessions},
        on_error=lambda err: errors.add(err, events_where),
    )
    if sources is not None:
        # The same gates `combine` applies, so the numbers equal the committed combined report.
        add_song_leaks(health, song_leaks(song_splits))
        add_source_gates(health, _source_reports(tree, side_ws, rev, sources), waived_sources(load_datasets(side_ws)))
    if dataset == COMBINED:
        licence, licence_error = _combined_licence_constraints(tree, rev, list(sources or ()))
    else:
        licence, licence_error = _licence_constraints(tree, rev, inputs.licence)
    weights = compute_side_weights(tree, side_ws, rev, dataset, inputs, sources) if inputs.events else None
    return SideResult(rev, inputs, health, errors, licence, licence_error, weights)


def compute_side_weights(
    tree: GitTree,
    side_ws: Workspace,
    rev: str,
    dataset: str,
    inputs: SideInputs,
    sources: Mapping[str, SideInputs] | None = None,
) -> Row | None:
    """Sampling weights at one side (the scheme the pipeline commits), or None when they cannot be made."""
    from drumgate.reports.weights import compute_weights

    if inputs.events is None:
        return None
    ignored = RowErrors()
    rows = iter_blob_rows(tree, rev, inputs.events, f"{_short(rev)}:{inputs.events}", ignored)
    try:
        return compute_weights(
            side_ws,
            dataset,
            rows,
            _side_sessions(tree, rev, inputs, sources, ignored),
            scheme=WEIGHTS_SCHEME,
            source={"events": inputs.events, "sessions": inputs.sessions},
            on_error=lambda err: ignored.add(err, rev),
        )
    except DrumgateError:
        return None


# Which groups changed ---------------------------------------------------------------------------
def known_datasets(ws: Workspace) -> list[str]:
    config = load_datasets(ws)
    names = sorted(config.datasets)
    if config.combined:
        names.append(COMBINED)
    return names


def changed_datasets(ws: Workspace, paths: Sequence[str]) -> tuple[list[str], bool]:
    """Datasets whose artifacts changed, and whether configs/ changed (which touches them all)."""
    config = load_datasets(ws)
    names = known_datasets(ws)
    by_group: dict[str, set[str]] = {}
    for name in names:
        group = config.datasets[name].group if name in config.datasets else str(config.combined.get("group", name))
        by_group.setdefault(group, set()).update({name, group})
    if any(path.startswith("configs/") for path in paths):
        return names, True
    touched: set[str] = set()
    for path in paths:
        artifact = classify(path)
        if artifact is None or artifact.group is None:
            continue
        for group, members in by_group.items():
            if artifact.group in members or artifact.group == group:
                touched.update(n for n in members if n in names)
    return sorted(touched, key=names.index), False


# The report --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    base: str
    head: str
    out: Path
    repo_url: str | None
    run_id: str | None
    artifact_name: str
    limit: int


def _side_workspace(tree: GitTree, rev: str, scratch: Path, fallback: Workspace) -> Workspace:
    folder = scratch / _short(rev)
    if folder.exists():
        return Workspace(folder)
    folder.mkdir(parents=True)
    return Workspace(folder) if tree.extract_configs(rev, folder) else fallback


def _dataset_entry(
    tree: GitTree, workspaces: tuple[Workspace, Workspace], revs: tuple[str, str], dataset: str
) -> dict[str, Any]:
    from drumgate.reports.diffing import diff_reports

    try:
        base = compute_side(tree, workspaces[0], revs[0], dataset)
        head = compute_side(tree, workspaces[1], revs[1], dataset)
        diff = diff_reports(base.health, head.health)
    except DrumgateError as err:
        return {"dataset": dataset, "error": str(err)}
    weights_diff = None
    if base.weights and head.weights:
        with contextlib.suppress(DrumgateError):
            weights_diff = diff_reports(base.weights, head.weights)
    return {
        "dataset": dataset,
        "base": base,
        "head": head,
        "diff": diff,
        "weights_diff": weights_diff,
    }


def build_report(ws: Workspace, options: Options) -> dict[str, Any]:
    tree = GitTree(ws)
    base_sha, head_sha = tree.resolve(options.base), tree.resolve(options.head)
    merge_base = tree.merge_base(base_sha, head_sha)
    paths = tree.changed_paths(merge_base, head_sha)
    with tempfile.TemporaryDirectory(prefix="drumgate-pr-") as scratch:
        head_ws = _side_workspace(tree, head_sha, Path(scratch), ws)
        base_ws = _side_workspace(tree, merge_base, Path(scratch), head_ws)
        datasets, configs_changed = changed_datasets(head_ws, paths)
        entries = [_dataset_entry(tree, (base_ws, head_ws), (merge_base, head_sha), ds) for ds in datasets]
        # a configured dataset with no events at either revision (MDB Drums in a repository that never
        # ingested it) has nothing to report, even when a configs change lists every dataset
        entries = [e for e in entries
                   if "error" in e or e["dataset"] == COMBINED or not (e["base"].absent and e["head"].absent)]
        html = {entry["dataset"]: _head_html(entry) for entry in entries if "error" not in entry}
    return {
        "base": base_sha,
        "head": head_sha,
        "merge_base": merge_base,
        "changed_paths": paths,
        "configs_changed": configs_changed,
        "entries": entries,
        "html": html,
    }


def _head_html(entry: dict[str, Any]) -> str | None:
    try:
        from drumgate.render.html_report import render_health_html
    except ImportError:
        return None
    return render_health_html(entry["head"].health, date=None)


NAMES_KEPT = 50
ROWS_KEPT = 1000
MALFORMED_KEPT = 20
SPLIT_MOVES_KEPT = 50
SUMMARY_SCHEMA = DEFAULTS / "configs" / "schemas" / "pr_summary.schema.json"
SUMMARY_MAX_BYTES = 4_000_000
DEEPDIFF_KEPT = 500_000


def _sample(names: Sequence[str]) -> dict[str, Any]:
    return {"count": len(names), "names": list(names[:NAMES_KEPT])}


def _distribution(distribution: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("name", "base", "head", "delta", "share_delta_pp")
    rows = [{key: row[key] for key in keys} for row in distribution["rows"][:ROWS_KEPT]]
    return {"rows": rows, "rows_total": len(distribution["rows"])}


def _gates(gates: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "base": gates["base"],
        "head": gates["head"],
        "failing": [dict(gate) for gate in gates["failing"]],
        "flipped": [dict(gate) for gate in gates["flipped"]],
    }


def _weights(weights_diff: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not weights_diff:
        return None
    summary = weights_diff["summary"]
    movers = [{key: mover[key] for key in ("session", "base", "head")} for mover in summary["movers"]]
    return {"movers": movers[: pr_render.MOVERS_SHOWN], "movers_total": summary["movers_total"]}


def _deepdiff_json(dataset: str, deepdiff: Any) -> str:
    text = orjson.dumps(deepdiff, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    if len(text) <= DEEPDIFF_KEPT:
        return text
    note = {"deepdiff_too_large": {"characters": len(text), "whole_diff": f"reports/{dataset}_diff.json"}}
    return orjson.dumps(note).decode("utf-8")


STORAGE_TABLES = (
    ("sessions_by_status", "sessions", "by_status"),
    ("items_by_status", "items", "by_status"),
    ("sessions_by_tier", "sessions", "by_tier"),
    ("items_by_tier", "items", "by_tier"),
)


def _storage_rows(base: Mapping[str, int], head: Mapping[str, int]) -> dict[str, dict[str, int]]:
    return {
        key: {"base": base.get(key, 0), "head": head.get(key, 0), "delta": head.get(key, 0) - base.get(key, 0)}
        for key in sorted({*base, *head})
    }


def _status_changes(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sessions whose status moved (a new session counts when it arrives in any status but `ok`)."""
    changes = []
    for session, entry in sorted(head["sessions"].items()):
        now = entry.get("status")
        was = base["sessions"].get(session, {}).get("status")
        if now is not None and now != was and (was is not None or now != "ok"):
            changes.append({"session": session, "tier": entry.get("tier"), "base": was, "head": now})
    return changes


def storage_data(base: Mapping[str, Any], head: Mapping[str, Any]) -> dict[str, Any]:
    """Sessions and items by status and tier at both sides, and the sessions whose status changed."""
    empty = {"sessions": {"by_status": {}, "by_tier": {}}, "items": {"by_status": {}, "by_tier": {}}}
    before, after = base.get("storage") or empty, head.get("storage") or empty
    data: dict[str, Any] = {
        name: _storage_rows(before[kind][table], after[kind][table]) for name, kind, table in STORAGE_TABLES
    }
    changes = _status_changes(base, head)
    data["status_changed"] = {"count": len(changes), "items": changes[:SPLIT_MOVES_KEPT]}
    return data


def sources_data(head: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The combined manifest's sources at head: each one's own failing gates and whether they are waived."""
    return [
        {"dataset": name, "failing": found["failing"][:NAMES_KEPT], "failing_count": len(found["failing"]),
         "waived": found["waived"]}
        for name, found in sorted((head.get("sources") or {}).items())
    ]


def dataset_data(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One dataset's entry of summary.json: everything the comment shows, as numbers and plain strings."""
    if "error" in entry:
        return {"error": entry["error"]}
    base, head, diff = entry["base"], entry["head"], entry["diff"]
    summary = diff["summary"]
    moved = summary["sessions"]["split_changed"]
    return {
        "absent": {"base": base.absent, "head": head.absent},
        "totals": summary["totals"],
        "gates": _gates(summary["gates"]),
        "classes": _distribution(summary["classes"]),
        "techniques": _distribution(summary["techniques"]),
        "sessions": {
            "added": _sample(summary["sessions"]["added"]),
            "removed": _sample(summary["sessions"]["removed"]),
            "split_changed": {"count": len(moved), "items": moved[:SPLIT_MOVES_KEPT]},
        },
        "leakage_added": _sample(summary["leakage"]["added"]),
        "unknown_labels_added": _sample(summary["unknowns"]["labels"]["added"]),
        "malformed_rows": {
            "base": base.row_errors.count,
            "head": head.row_errors.count,
            "head_shown": head.row_errors.shown[:MALFORMED_KEPT],
        },
        "licence": {"base": base.licence, "head": head.licence, "head_error": head.licence_error},
        "storage": storage_data(base.health, head.health),
        "sources": sources_data(head.health),
        "weights": _weights(entry["weights_diff"]),
        "changes": diff["changes"],
        "deepdiff_json": _deepdiff_json(entry["dataset"], diff["deepdiff"]),
    }


def summary_document(report: dict[str, Any]) -> dict[str, Any]:
    datasets = {entry["dataset"]: dataset_data(entry) for entry in report["entries"]}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "pr_report",
        "base": report["base"],
        "head": report["head"],
        "merge_base": report["merge_base"],
        "changed": bool(datasets),
        "configs_changed": report["configs_changed"],
        "changed_paths": len(report["changed_paths"]),
        "datasets": datasets,
    }


# Reading a summary made by untrusted code -------------------------------------------------------
def _consistency_problem(summary: Mapping[str, Any]) -> str | None:
    """What the schema cannot say: the verdict's numbers agree with each other."""
    if summary["changed"] != bool(summary["datasets"]):
        return "changed disagrees with the datasets listed"
    for name, data in summary["datasets"].items():
        if "error" in data:
            continue
        for side in ("base", "head"):
            tally = data["gates"][side]
            if tally["passed"] > tally["total"]:
                return f"datasets.{name}.gates.{side}: more gates passed than exist"
        head = data["gates"]["head"]
        failing, tally_failing = len(data["gates"]["failing"]), head["total"] - head["passed"]
        if failing != tally_failing:
            return f"datasets.{name}.gates: {failing} failing gates listed but the head tally has {tally_failing}"
        if len(data["malformed_rows"]["head_shown"]) > data["malformed_rows"]["head"]:
            return f"datasets.{name}.malformed_rows: more rows shown than counted"
        for source in data["sources"]:
            if len(source["failing"]) > source["failing_count"]:
                return f"datasets.{name}.sources: more failing gates named than counted"
    return None


def read_summary(path: Path) -> dict[str, Any]:
    """A summary.json from an artifact, refused with one line unless it is exactly what the schema allows."""
    from drumgate.schemas import RowValidator

    try:
        facts = path.lstat()
    except OSError as exc:
        raise DrumgateError(f"cannot read the summary: {exc.strerror}", path=path) from None
    if not stat.S_ISREG(facts.st_mode):
        raise DrumgateError("the summary is not a regular file (a link or a folder is refused)", path=path)
    size = facts.st_size
    if size > SUMMARY_MAX_BYTES:
        raise DrumgateError(f"summary is {size:,} bytes, over the {SUMMARY_MAX_BYTES:,}-byte cap", path=path)
    summary = read_json(path)
    validator = RowValidator("pr_summary", read_json(SUMMARY_SCHEMA), compile_fast=False)
    issues = validator.reference_issues(summary)
    if issues:
        # jsonschema quotes the offending value; a forged one may be megabytes long.
        first = f"{issues[0].json_path}: {_clipped(issues[0].message)}"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        raise DrumgateError(f"not a pr-report summary: {first}{more}", path=path, hint=SUMMARY_FIX)
    problem = _consistency_problem(summary)
    if problem:
        raise DrumgateError(f"inconsistent pr-report summary: {problem}", path=path, hint=SUMMARY_FIX)
    return summary


def _clipped(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else f"{message[: limit // 2]} … {message[-limit // 2 :]}"


SUMMARY_FIX = "fix: regenerate it with drumgate pr-report --base REV --head REV --out DIR"


def write_outputs(report: dict[str, Any], options: Options, summary: Mapping[str, Any], comment: str) -> None:
    out = options.out
    reports = out / "reports"
    for entry in report["entries"]:
        if "error" in entry:
            continue
        name = entry["dataset"]
        write_json(reports / f"{name}_base.json", entry["base"].health)
        write_json(reports / f"{name}_head.json", entry["head"].health)
        write_json(reports / f"{name}_diff.json", entry["diff"])
        if entry["head"].weights:
            write_json(reports / f"{name}_weights_head.json", entry["head"].weights)
        page = report["html"].get(name)
        if page:
            atomic_write_text(reports / f"{name}_head.html", page)
    write_json(out / "summary.json", summary)
    atomic_write_text(out / "comment.md", comment)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default=None, help="base revision (the pull request's base commit)")
    parser.add_argument("--head", default=None, help="head revision (the pull request's head commit)")
    parser.add_argument(
        "--from-summary",
        type=Path,
        default=None,
        metavar="FILE",
        help="render comment.md from a summary.json (validated, untrusted) instead of computing one",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for comment.md, summary.json and reports/")
    parser.add_argument("--repo-url", default=None, help="repository web URL, for links to the workflow run")
    parser.add_argument("--run-id", default=None, help="workflow run id holding the artifact (for its link)")
    parser.add_argument("--artifact-name", default=DEFAULT_ARTIFACT, help=f"artifact name (default {DEFAULT_ARTIFACT})")
    parser.add_argument(
        "--max-chars", type=int, default=pr_render.COMMENT_BUDGET, help="comment size cap (default %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print summary.json to stdout")


def _say_written(out: Path, summary: Mapping[str, Any], comment: pr_render.Rendered, what: str) -> None:
    count = len(summary["datasets"])
    left_out = f", left out: {', '.join(comment.dropped)}" if comment.dropped else ""
    print(
        f"pr-report: {count} dataset group{'s' if count != 1 else ''} changed; "
        f"wrote {out / 'comment.md'} ({len(comment.text):,} characters{left_out}){what}"
    )


def run(args: argparse.Namespace) -> int:
    if args.run_id is not None and not str(args.run_id).isdigit():
        raise DrumgateError(f"--run-id {args.run_id!r} is not a number")
    if not 2_000 <= args.max_chars <= pr_render.GITHUB_LIMIT - 1:
        raise DrumgateError(f"--max-chars must be between 2000 and {pr_render.GITHUB_LIMIT - 1}")
    context = pr_render.Context(args.artifact_name, pr_render.run_url(args.repo_url, args.run_id))
    if args.from_summary is not None:
        if args.base is not None or args.head is not None:
            raise DrumgateError(
                "--from-summary renders a summary; --base and --head compute one (give one or the other)"
            )
        summary = read_summary(args.from_summary)
        comment = pr_render.render_comment(summary, context, args.max_chars)
        atomic_write_text(args.out / "comment.md", comment.text)
        _say_written(args.out, summary, comment, f" from {args.from_summary}")
        return EXIT_OK
    if args.base is None or args.head is None:
        raise DrumgateError("give --base REV and --head REV (or --from-summary FILE)")
    ws = cli.workspace_from(args)
    options = Options(args.base, args.head, args.out, args.repo_url, args.run_id, args.artifact_name, args.max_chars)
    report = build_report(ws, options)
    # The comment is rendered from the summary as it reads back from JSON, exactly as the trusted job sees it.
    summary = orjson.loads(dumps_document(summary_document(report)))
    comment = pr_render.render_comment(summary, context, options.limit)
    write_outputs(report, options, summary, comment.text)
    if args.json:
        sys.stdout.write(dumps_document(summary).decode("utf-8"))
    else:
        _say_written(options.out, summary, comment, " and summary.json")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.github.pr_report")


if __name__ == "__main__":
    raise SystemExit(main())

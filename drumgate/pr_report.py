"""Health deltas between two revisions, rendered as the pull request's comment.

`drumgate pr-report --base REV --head REV --out DIR` finds the dataset groups whose artifacts or
configs changed between the merge base of the two revisions and head (a `configs/` change touches
every group), reads each group's events and sessions manifests at both sides straight from git
objects (no checkout; `.jsonl.gz` too; a manifest absent on one side counts as empty), computes
health at both sides with that side's own configs, diffs them, and writes:

- `DIR/comment.md`: the sticky PR comment (hidden marker first), under GitHub's limit;
- `DIR/summary.json`: the same facts for machines;
- `DIR/reports/<ds>_{base,head}.json`, `<ds>_head.html`, `<ds>_diff.json` (and weights).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import shlex
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from drumgate import cli, pr_render
from drumgate.artifacts import classify
from drumgate.config import load_datasets
from drumgate.errors import EXIT_OK, DrumgateError
from drumgate.fsutil import atomic_write_text
from drumgate.jsonio import LFS_HINT, LFS_POINTER_PREFIX, dumps_document, parse_line, write_json
from drumgate.workspace import COMBINED, DATASETS, Workspace

SCHEMA_VERSION = 1
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
            done = subprocess.run(["git", *args], cwd=cwd or self.ws.root, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise DrumgateError(f"cannot run git: {exc.strerror}", hint="install git") from exc
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or ["failed"])[-1]
            raise DrumgateError(f"git {args[0]}: {message}", path=cwd or self.ws.root)
        return done.stdout

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
        return self.git("show", self.spec(rev, rel))

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
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(dest, filter="data")
        if self.prefix:
            (dest / self.prefix / "configs").rename(dest / "configs")
        return True


# Reading one side ------------------------------------------------------------------------------
@dataclass
class RowErrors:
    """Malformed rows of one manifest at one revision: counted, the first few kept as text."""

    count: int = 0
    shown: list[str] = field(default_factory=list)

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


def _combined_licence_constraints(tree: GitTree, rev: str) -> tuple[dict[str, str] | None, str | None]:
    """The combined manifest inherits every source's constraints: one line per key, per dataset."""
    notes = {ds: f"data/licenses/{ds}.md" for ds in DATASETS}
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


def compute_side(tree: GitTree, side_ws: Workspace, rev: str, dataset: str) -> SideResult:
    from drumgate.health import compute_health

    inputs = locate(tree, rev, dataset)
    errors = RowErrors()
    events_where = f"{_short(rev)}:{inputs.events}"
    event_rows: Iterator[tuple[int, Row]] = (
        iter_blob_rows(tree, rev, inputs.events, events_where, errors) if inputs.events else iter(())
    )
    health = compute_health(
        side_ws,
        dataset,
        event_rows,
        _session_rows(tree, rev, inputs.sessions, errors),
        source={"events": inputs.events, "sessions": inputs.sessions},
        on_error=lambda err: errors.add(err, events_where),
    )
    if dataset == COMBINED:
        licence, licence_error = _combined_licence_constraints(tree, rev)
    else:
        licence, licence_error = _licence_constraints(tree, rev, inputs.licence)
    weights = compute_side_weights(tree, side_ws, rev, dataset, inputs) if inputs.events else None
    return SideResult(rev, inputs, health, errors, licence, licence_error, weights)


def compute_side_weights(tree: GitTree, side_ws: Workspace, rev: str, dataset: str, inputs: SideInputs) -> Row | None:
    """Sampling weights at one side (the scheme the pipeline commits), or None when they cannot be made."""
    from drumgate.weights import compute_weights

    if inputs.events is None:
        return None
    ignored = RowErrors()
    rows = iter_blob_rows(tree, rev, inputs.events, f"{_short(rev)}:{inputs.events}", ignored)
    try:
        return compute_weights(
            side_ws,
            dataset,
            rows,
            _session_rows(tree, rev, inputs.sessions, ignored),
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
    from drumgate.diffing import diff_reports

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
        from drumgate.html_report import render_health_html
    except ImportError:
        return None
    return render_health_html(entry["head"].health, date=None)


def regenerate_command(report: dict[str, Any]) -> str:
    return shlex.join(
        [
            "drumgate",
            "pr-report",
            "--base",
            _short(report["base"]),
            "--head",
            _short(report["head"]),
            "--out",
            "pr-report/",
        ]
    )


def summary_document(report: dict[str, Any], comment: pr_render.Rendered) -> dict[str, Any]:
    datasets: dict[str, Any] = {}
    for entry in report["entries"]:
        name = entry["dataset"]
        if "error" in entry:
            datasets[name] = {"error": entry["error"]}
            continue
        base, head = entry["base"], entry["head"]
        datasets[name] = {
            "base": {"status": base.health["status"], "absent": base.absent, "totals": base.health["totals"]},
            "head": {"status": head.health["status"], "absent": head.absent, "totals": head.health["totals"]},
            "malformed_rows": {"base": base.row_errors.count, "head": head.row_errors.count},
            "licence": {"base": base.licence, "head": head.licence, "changed": base.licence != head.licence},
            "diff": entry["diff"]["summary"],
            "changes": entry["diff"]["changes"],
            "weights": entry["weights_diff"]["summary"] if entry["weights_diff"] else None,
        }
    failing = sorted(name for name, item in datasets.items() if "error" in item or item["head"]["status"] == "fail")
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
        "failing_at_head": failing,
        "comment": {"characters": len(comment.text), "level": comment.level, "dropped": comment.dropped},
        "regenerate": regenerate_command(report),
    }


def write_outputs(report: dict[str, Any], options: Options, comment: pr_render.Rendered) -> dict[str, Any]:
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
    atomic_write_text(out / "comment.md", comment.text)
    summary = summary_document(report, comment)
    write_json(out / "summary.json", summary)
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, help="base revision (the pull request's base commit)")
    parser.add_argument("--head", required=True, help="head revision (the pull request's head commit)")
    parser.add_argument("--out", required=True, type=Path, help="folder for comment.md, summary.json and reports/")
    parser.add_argument("--repo-url", default=None, help="repository web URL, for links to the workflow run")
    parser.add_argument("--run-id", default=None, help="workflow run id holding the artifact (for its link)")
    parser.add_argument("--artifact-name", default=DEFAULT_ARTIFACT, help=f"artifact name (default {DEFAULT_ARTIFACT})")
    parser.add_argument(
        "--max-chars", type=int, default=pr_render.COMMENT_BUDGET, help="comment size cap (default %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print summary.json to stdout")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    if args.run_id is not None and not str(args.run_id).isdigit():
        raise DrumgateError(f"--run-id {args.run_id!r} is not a number")
    if not 2_000 <= args.max_chars <= pr_render.GITHUB_LIMIT - 1:
        raise DrumgateError(f"--max-chars must be between 2000 and {pr_render.GITHUB_LIMIT - 1}")
    options = Options(args.base, args.head, args.out, args.repo_url, args.run_id, args.artifact_name, args.max_chars)
    report = build_report(ws, options)
    context = pr_render.Context(
        base=report["base"],
        head=report["head"],
        merge_base=report["merge_base"],
        artifact_name=options.artifact_name,
        run_url=pr_render.run_url(options.repo_url, options.run_id),
        regenerate=regenerate_command(report),
        configs_changed=report["configs_changed"],
    )
    comment = pr_render.render_comment(report["entries"], context, options.limit)
    summary = write_outputs(report, options, comment)
    if args.json:
        sys.stdout.write(dumps_document(summary).decode("utf-8"))
    else:
        count = len(summary["datasets"])
        print(
            f"pr-report: {count} dataset group{'s' if count != 1 else ''} changed; "
            f"wrote {options.out / 'comment.md'} ({len(comment.text):,} characters) and summary.json"
        )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.pr_report")


if __name__ == "__main__":
    raise SystemExit(main())

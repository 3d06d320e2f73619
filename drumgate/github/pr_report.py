"""Health deltas between two revisions, rendered as the pull request's comment.

`drumgate pr-report --base REV --head REV --out DIR` finds the dataset groups whose artifacts or
configs changed between the merge base of the two revisions and head (a change to a dataset's own
table in `configs/datasets.toml` touches its group, any other `configs/` change every group; a
dataset either side configures counts; a change to a source the `[combined] mix` takes brings in
the combined group), reads each group's events and sessions manifests at both sides
straight from git objects (no checkout; `.jsonl.gz` too; a partitioned folder through its index,
reading only the parts that changed; a manifest absent on one side counts as empty), computes
health at both sides with that side's own configs (a side that does not configure the dataset
takes the other side's gates; one removed with its table and manifests is judged by none at head, so its
gates read as removed, not regressed: so is the combined manifest `repro` retires when the `[combined] mix`
gives no dataset a share, and one left committed then is an error naming that fix), drops a group with no
events at either side, diffs them, and writes:

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

import contextlib
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from drumgate.artifacts import ArtifactRegistry, classify
from drumgate.config import DatasetsConfig, load_datasets
from drumgate.errors import DrumgateError
from drumgate.github.git_tree import GitTree, short_sha
from drumgate.github.pr_parts import PartitionError
from drumgate.github.pr_render import Context, Rendered, render_comment
from drumgate.github.pr_sides import compute_side, locate
from drumgate.github.pr_summary import read_summary, summary_document
from drumgate.io.fsutil import atomic_write_text
from drumgate.io.jsonio import dumps_document, write_json
from drumgate.lineage import config_parts
from drumgate.workers import paused_gc
from drumgate.workspace import COMBINED, Workspace

DEFAULT_ARTIFACT = "drumgate-health"


# Which groups changed ---------------------------------------------------------------------------
def known_datasets(configs: Sequence[DatasetsConfig]) -> list[str]:
    """Every dataset configured at either side (sorted), then the combined manifest if either mixes one."""
    names = sorted({name for config in configs for name in config.datasets})
    if any(config.combined for config in configs):
        names.append(COMBINED)
    return names


def mixed_into_combined(configs: Sequence[DatasetsConfig]) -> set[str]:
    """Datasets either side's `[combined] mix` takes a share of."""
    from drumgate.reports.combined import mixed_datasets

    return {name for config in configs for name in mixed_datasets(config, lambda _: True)}


def config_touched(configs: Sequence[DatasetsConfig], names: Sequence[str]) -> set[str]:
    """Of `names`, those a change to `configs/datasets.toml` between the two sides touches, read as
    the lineage reads it (`drumgate.lineage.config_parts`): a dataset by its own table and `version`,
    the combined manifest by every table; comments and layout touch nothing. With one side's config
    only, every name."""
    if len(configs) != 2:
        return set(names)
    base, head = (config.path for config in configs)

    def differs(parts: list[str]) -> bool:
        digests = [config_parts.parts_digest(path, parts) for path in (base, head)]
        return digests[0] is None or digests[0] != digests[1]

    return {name for name in names
            if differs([config_parts.ALL_TABLES] if name == COMBINED else [f"datasets.{name}", "version"])}


def changed_datasets(configs: Sequence[DatasetsConfig], paths: Sequence[str]) -> tuple[list[str], bool]:
    """Datasets whose artifacts or configs changed, and whether configs/ changed; `configs` are both
    sides' datasets configs, so a dataset either side configures counts. A change to any config but
    `configs/datasets.toml` (the taxonomy, a note map) touches every dataset; one to that file, the
    datasets whose tables changed (`config_touched`)."""
    names = known_datasets(configs)
    by_group: dict[str, set[str]] = {}
    for config in configs:
        known = ArtifactRegistry.from_config(config)
        for name in [*config.datasets, *([COMBINED] if config.combined else [])]:
            group = known.group_of(name)
            by_group.setdefault(group, set()).update({name, group})
    changed_configs = [path for path in paths if path.startswith("configs/")]
    if any(path != config_parts.PARTED_INPUT for path in changed_configs):
        return names, True
    touched: set[str] = config_touched(configs, names) if changed_configs else set()
    for path in paths:
        artifact = classify(path)
        if artifact is None or artifact.group is None:
            continue
        for group, members in by_group.items():
            if artifact.group in members or artifact.group == group:
                touched.update(n for n in members if n in names)
    # a committed combined reference stands for its sources' rows at each revision, and its source
    # gates judge them: a mixed source's change changes the combined health too
    if COMBINED in names and touched & mixed_into_combined(configs):
        touched.add(COMBINED)
    return sorted(touched, key=names.index), bool(changed_configs)


# The report --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    """What to compare, where the outputs go, and how long the comment may be."""

    base: str
    head: str
    out: Path
    limit: int


def _side_workspace(tree: GitTree, rev: str, scratch: Path, fallback: Workspace) -> Workspace:
    folder = scratch / short_sha(rev)
    if folder.exists():
        return Workspace(folder)
    folder.mkdir(parents=True)
    return Workspace(folder) if tree.extract_configs(rev, folder) else fallback


def _base_config(ws: Workspace) -> DatasetsConfig | None:
    """The base side's datasets config; None when it cannot be read (each dataset's entry then says why)."""
    with contextlib.suppress(DrumgateError):
        return load_datasets(ws)
    return None


def _configures(config: DatasetsConfig | None, dataset: str) -> bool:
    """Whether a side's config judges `dataset`: the combined manifest only while its `[combined] mix`
    gives a dataset a share (with none, `repro` retires what `combine` wrote: a removal, not a regression)."""
    if config is None:
        return True  # computed as before, so the unreadable config is that dataset's error
    return bool(mixed_into_combined([config])) if dataset == COMBINED else dataset in config.datasets


def _gates_from(
    workspaces: tuple[Workspace, Workspace], configs: tuple[DatasetsConfig | None, DatasetsConfig], dataset: str
) -> tuple[Workspace, Workspace]:
    """Per side, the workspace whose configs judge `dataset`: a side that does not configure it (the
    pull request adds or removes the dataset) takes the gates the other side gives it."""
    base, head = (_configures(config, dataset) for config in configs)
    return workspaces[0] if base else workspaces[1], workspaces[1] if head else workspaces[0]


def _refuse_unmixed_combined(tree: GitTree, ws: Workspace, rev: str) -> None:
    """A combined manifest still committed at a head whose config mixes nothing: `combine` refuses to
    make one and `repro` retires it, and judged on no sources every gate would read as regressed."""
    committed = locate(tree, rev, COMBINED).events
    if committed is None:
        return
    why = "[combined] mix gives no dataset a share" if load_datasets(ws).combined else "there is no [combined] table"
    raise DrumgateError(f"{why}, yet {committed} is still committed", path=f"{short_sha(rev)}:configs/datasets.toml",
                        hint=f"fix: drumgate repro {COMBINED}, then commit what it removes")


def _dataset_entry(
    tree: GitTree,
    workspaces: tuple[Workspace, Workspace],
    revs: tuple[str, str],
    dataset: str,
    gates_from: tuple[Workspace, Workspace],
) -> dict[str, Any]:
    from drumgate.reports.diffing import diff_reports

    try:
        if dataset == COMBINED and gates_from[1] is not workspaces[1]:
            _refuse_unmixed_combined(tree, workspaces[1], revs[1])
        base = compute_side(tree, workspaces[0], revs[0], dataset, peer=revs[1], gates_ws=gates_from[0])
        head = compute_side(tree, workspaces[1], revs[1], dataset, peer=revs[0], gates_ws=gates_from[1],
                            retired=gates_from[1] is not workspaces[1])
        diff = diff_reports(base.health, head.health)
    except PartitionError:
        raise  # a folder that disagrees with its index: the whole report is refused, one line
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


def _without_scratch(error: str, scratch: Path, revs: Sequence[str]) -> str:
    """An error naming a side's extracted configs names them as `<sha>:configs/...`: the runner's
    scratch folder means nothing in a comment."""
    for rev in revs:
        for folder in {scratch / short_sha(rev), (scratch / short_sha(rev)).resolve()}:
            error = error.replace(f"{folder}/", f"{short_sha(rev)}:").replace(str(folder), short_sha(rev))
    return error


def _same_front_matter(tree: GitTree, revs: tuple[str, str], rel: str) -> bool:
    """Whether a licence note changed below its front matter only (what the lineage and every reader
    of it read: `drumgate.lineage.config_parts`)."""
    from drumgate.licences import parse_licence_note

    if any(rel not in tree.existing(rev, [rel]) for rev in revs):
        return False
    try:
        base, head = (parse_licence_note(tree.read_text(rev, rel), Path(rel)).fields for rev in revs)
    except DrumgateError:
        return False
    return base == head


def touching(tree: GitTree, revs: tuple[str, str], paths: Sequence[str]) -> list[str]:
    """The changed paths that can touch a dataset group: a licence note whose front matter is the same
    at both sides is left out."""
    def prose_only(path: str) -> bool:
        artifact = classify(path)
        return artifact is not None and artifact.kind == "licence" and _same_front_matter(tree, revs, path)

    return [path for path in paths if not prose_only(path)]


def build_report(ws: Workspace, options: Options) -> dict[str, Any]:
    tree = GitTree(ws)
    base_sha, head_sha = tree.resolve(options.base), tree.resolve(options.head)
    merge_base = tree.merge_base(base_sha, head_sha)
    paths = tree.changed_paths(merge_base, head_sha)
    with tempfile.TemporaryDirectory(prefix="drumgate-pr-") as scratch:
        head_ws = _side_workspace(tree, head_sha, Path(scratch), ws)
        base_ws = _side_workspace(tree, merge_base, Path(scratch), head_ws)
        configs = (_base_config(base_ws), load_datasets(head_ws))
        datasets, configs_changed = changed_datasets([c for c in configs if c is not None],
                                                     touching(tree, (merge_base, head_sha), paths))
        workspaces, revs = (base_ws, head_ws), (merge_base, head_sha)
        with paused_gc():
            entries = [
                _dataset_entry(tree, workspaces, revs, ds, _gates_from(workspaces, configs, ds)) for ds in datasets
            ]
        # a dataset with no events at either revision (MDB Drums in a repository that never ingested
        # it, a combined manifest never committed) has nothing to report, even when a configs change
        # lists every dataset
        entries = [e for e in entries if "error" in e or not (e["base"].absent and e["head"].absent)]
        for entry in entries:
            if "error" in entry:
                entry["error"] = _without_scratch(entry["error"], Path(scratch), revs)
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


def report_revisions(ws: Workspace, options: Options, context: Context) -> tuple[dict[str, Any], Rendered]:
    """Compute the delta between the two revisions, write every output; the summary and the comment."""
    report = build_report(ws, options)
    # The comment is rendered from the summary as it reads back from JSON, exactly as the trusted job sees it.
    summary = orjson.loads(dumps_document(summary_document(report)))
    comment = render_comment(summary, context, options.limit)
    write_outputs(report, options, summary, comment.text)
    return summary, comment


def render_summary_file(path: Path, out: Path, context: Context, limit: int) -> tuple[dict[str, Any], Rendered]:
    """The trusted half: `out/comment.md` rendered from a summary.json it validated first."""
    summary = read_summary(path)
    comment = render_comment(summary, context, limit)
    atomic_write_text(out / "comment.md", comment.text)
    return summary, comment

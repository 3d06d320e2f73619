"""The pull-request comment of `drumgate pr-report`: Markdown a reviewer reads in ten seconds.

The comment is rendered from one data document, the `summary.json` that `pr-report` writes and
`pr_summary.schema.json` describes, never from text made elsewhere: the trusted `workflow_run` job
renders the same way from the artifact's summary as `pr-report` does locally. Every verdict (the
gate tallies' icons, "now fails", "new", "gone") is computed from the numbers (`pr_gates`); every
string from the data (dataset, session, class, gate and licence text, error lines) goes through
`pr_text.esc` (`drumgate.render.textsafe.markdown_text`), so none can mention, link, embed an image,
open HTML, break a table or reorder text with bidi controls. The full deepdiff is JSON re-serialised
and shown only inside a code fence longer than any backtick run in it (`pr_details`). Here the parts
are put together, at decreasing detail until the comment fits under GitHub's 65,536-character limit.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drumgate.github.pr_details import DEEPDIFF_CAP, deepdiff_block, details_block
from drumgate.github.pr_gates import verdict_line
from drumgate.github.pr_sections import dataset_callouts, digest_line, overview_row
from drumgate.github.pr_text import code
from drumgate.github.sticky import COMMENT_LIMIT_TEXT, MARKER, cut_body

COMMENT_BUDGET = 65_000

# Levels of detail, most first: what each one leaves out of the comment.
LEVELS: tuple[tuple[str, ...], ...] = (
    (),
    ("deepdiff_tail",),
    ("deepdiff",),
    ("deepdiff", "details"),
)


@dataclass(frozen=True)
class Context:
    """What the comment needs beyond the summary: where the artifact lives (never from the artifact)."""

    artifact_name: str
    run_url: str | None


@dataclass(frozen=True)
class Rendered:
    text: str
    level: int
    dropped: list[str] = field(default_factory=list)


def run_url(repo_url: str | None, run_id: str | None) -> str | None:
    if not repo_url or not run_id:
        return None
    if not re.match(r"^https?://[A-Za-z0-9._:/-]+$", repo_url):
        return None
    return f"{repo_url.rstrip('/')}/actions/runs/{run_id}"


def regenerate_command(base: str, head: str) -> str:
    return shlex.join(["drumgate", "pr-report", "--base", base[:7], "--head", head[:7], "--out", "pr-report/"])



# The whole comment ------------------------------------------------------------------------------
def _artifact_link(ctx: Context) -> str:
    name = code(ctx.artifact_name)
    return f"[{name}]({ctx.run_url})" if ctx.run_url else name



def heading(summary: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> list[str]:
    base, head, merge_base = summary["base"], summary["head"], summary["merge_base"]
    base_text = f"base `{base[:7]}`"
    if merge_base != base:
        base_text = f"merge base `{merge_base[:7]}` of base `{base[:7]}`"
    where = f"(head `{head[:7]}` vs {base_text})"
    if not entries and summary["configs_changed"]:
        return [
            f"Dataset health: configs changed, no dataset to judge {where}",
            "",
            "`configs/` changed, but the change touches no dataset group that holds events at base or head (a comment"
            " or another dataset's table touches none), so there is no health to compare.",
        ]
    if not entries:
        return [
            f"Dataset health: no dataset artifacts or configs changed {where}",
            "",
            "This pull request changes no manifest, report or config, nor the front matter of a licence note, so"
            " dataset health is unchanged.",
        ]
    plural = "s" if len(entries) != 1 else ""
    lines = [f"Dataset health: {len(entries)} dataset group{plural} changed {where}"]
    if summary["configs_changed"]:
        lines += ["", "`configs/` changed: each dataset group the change touches was recomputed with each side's own"
                  " configs (a dataset's own table in `configs/datasets.toml` touches its group; any other config,"
                  " every group)."]
    return lines


def dataset_entries(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"dataset": name, **data} for name, data in summary["datasets"].items()]


def render_at(summary: Mapping[str, Any], ctx: Context, drop: tuple[str, ...]) -> str:
    entries = dataset_entries(summary)
    lines = [MARKER, verdict_line(entries, summary["configs_changed"]), "", *heading(summary, entries)]
    if entries:
        lines += ["", "| dataset | gates | events | sessions | hours |", "|---|---|---|---|---|"]
        lines += [overview_row(entry) for entry in entries]
        callouts = [line for entry in entries for line in dataset_callouts(entry)]
        if callouts:
            lines += ["", *[f"{line}<br>" if i < len(callouts) - 1 else line for i, line in enumerate(callouts)]]
        digests = [line for line in map(digest_line, entries) if line]
        if digests:
            lines += ["", "**What the data change does**", "", *digests]
        computed = [entry for entry in entries if "error" not in entry]
        if "details" not in drop:
            for entry in computed:
                lines += ["", *details_block(entry)]
        if "deepdiff" not in drop:
            cap = DEEPDIFF_CAP if "deepdiff_tail" in drop else None
            for entry in computed:
                lines += ["", *deepdiff_block(entry, cap)]
    if drop:
        left_out = {
            "deepdiff_tail": "long deepdiffs were cut",
            "deepdiff": "the full deepdiffs",
            "details": "the per-dataset details",
        }
        what = "; ".join(left_out[item] for item in drop if not (item == "deepdiff_tail" and "deepdiff" in drop))
        lines += [
            "",
            "> [!NOTE]",
            f"> Left out to stay under GitHub's {COMMENT_LIMIT_TEXT} comment limit: {what}. "
            f"Everything is in the workflow artifact {_artifact_link(ctx)}.",
        ]
    regenerate = regenerate_command(summary["base"], summary["head"])
    lines += ["", f"HTML reports: workflow artifact {_artifact_link(ctx)} · regenerate locally: `{regenerate}`"]
    return "\n".join(lines) + "\n"


def render_comment(summary: Mapping[str, Any], ctx: Context, limit: int = COMMENT_BUDGET) -> Rendered:
    """The richest rendering of a validated summary that fits in `limit` characters (a clean cut as the last resort)."""
    text = ""
    for level, drop in enumerate(LEVELS):
        text = render_at(summary, ctx, drop)
        if len(text) <= limit:
            return Rendered(text, level, list(drop))
    cut, _ = cut_body(text, limit)
    return Rendered(cut, len(LEVELS), [*LEVELS[-1], "tail"])

"""One side's sampling weights, weighted as that side committed them: the scheme, beta and quota of the
dataset's newest weights report at the revision, so a pull request's weights are computed the way its
own reports were (a change of scheme shows as a change of weights, not as "unchanged")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from drumgate.artifacts import SAMPLING_DIR, combined_weights_report, weights_reports_of
from drumgate.errors import DrumgateError
from drumgate.github.git_tree import GitTree, short_sha
from drumgate.github.pr_parts import excerpt_counts
from drumgate.github.pr_sides import Row, RowErrors, SideInputs, combined_side_counts, side_event_rows, side_sessions
from drumgate.reports.weights import DEFAULT_BETA, QUOTAS, SCHEMES
from drumgate.reports.weights_files import DEFAULT_SCHEME  # what `weights` writes when not told otherwise
from drumgate.workspace import COMBINED, Workspace

DATED = re.compile(r"\d{8}\.json")


@dataclass(frozen=True)
class Weighting:
    scheme: str = DEFAULT_SCHEME
    beta: float = DEFAULT_BETA
    quota: str = "equal"


def newest_weights_report(tree: GitTree, rev: str, dataset: str) -> str | None:
    """The dataset's weights report training reads at `rev`: the combined manifest's undated one, else the
    newest `<ds>_weights_<YYYYMMDD>.json`; None when none is committed."""
    if dataset == COMBINED:
        undated = combined_weights_report()
        return undated if tree.existing(rev, [undated]) else None
    stem = weights_reports_of(dataset).rsplit("/", 1)[1]  # `<ds>_weights_`
    try:
        names = tree.listing(rev, SAMPLING_DIR)
    except DrumgateError:  # no reports folder at that revision
        return None
    dated = sorted(name for name in names if name.startswith(stem) and DATED.fullmatch(name[len(stem):]))
    return f"{SAMPLING_DIR}/{dated[-1]}" if dated else None


def committed_weighting(tree: GitTree, rev: str, dataset: str) -> Weighting:
    """The weighting of the newest committed report (`newest_weights_report`); the defaults when there is
    none or it does not say (a report that is not JSON is the weights hook's finding, not this one's)."""
    rel = newest_weights_report(tree, rev, dataset)
    if rel is None:
        return Weighting()
    try:
        document = orjson.loads(tree.read_text(rev, rel))
    except (DrumgateError, orjson.JSONDecodeError):
        return Weighting()
    if not isinstance(document, dict) or document.get("scheme") not in SCHEMES:
        return Weighting()
    parameters = document.get("parameters") if isinstance(document.get("parameters"), dict) else {}
    beta = parameters.get("beta", DEFAULT_BETA)
    quota = parameters.get("quota", "equal")
    return Weighting(
        document["scheme"],
        float(beta) if type(beta) in (int, float) and 0.0 <= beta < 1.0 else DEFAULT_BETA,
        quota if quota in QUOTAS else "equal",
    )


def compute_side_weights(
    tree: GitTree,
    side_ws: Workspace,
    rev: str,
    dataset: str,
    inputs: SideInputs,
    sources: Mapping[str, SideInputs] | None = None,
) -> Row | None:
    """Sampling weights at one side, weighted as that side's newest weights report was (its scheme, beta
    and quota), or None when they cannot be made."""
    from drumgate.reports.weights import compute_weights
    from drumgate.taxonomy import load_taxonomy

    if inputs.events is None:
        return None
    weighting = committed_weighting(tree, rev, dataset)
    ignored = RowErrors()
    rows: Any
    if inputs.events_parts:
        rows = excerpt_counts(tree, rev, inputs.events, ignored.add_anywhere)
    elif dataset == COMBINED and inputs.events.endswith(".json"):
        rows = combined_side_counts(tree, rev, inputs.events, ignored).excerpts
    else:
        rows = side_event_rows(tree, rev, inputs.events, f"{short_sha(rev)}:{inputs.events}", ignored)
    try:
        return compute_weights(
            load_taxonomy(side_ws),
            dataset,
            rows,
            side_sessions(tree, rev, inputs, sources, ignored),
            scheme=weighting.scheme,
            beta=weighting.beta,
            quota=weighting.quota,
            source={"events": inputs.events, "sessions": inputs.sessions},
            on_error=lambda err: ignored.add(err, rev),
        )
    except DrumgateError:
        return None

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


SCHEME_KEPT = 200  # the characters of an unknown scheme's name kept (the summary's schema caps them)


@dataclass(frozen=True)
class SchemeFallback:
    """A committed weights report whose scheme drumgate does not know: the side is weighted under `used`
    instead, which the comment says, lest a reviewer read those weights as the committed ones."""

    report: str
    scheme: str | None  # as the report wrote it, cut (it comes from the pull request); None: it names none
    used: str = DEFAULT_SCHEME

    def as_data(self) -> dict[str, str | None]:
        return {"report": self.report, "scheme": self.scheme, "used": self.used}


@dataclass(frozen=True)
class Weighting:
    scheme: str = DEFAULT_SCHEME
    beta: float = DEFAULT_BETA
    quota: str = "equal"
    fallback: SchemeFallback | None = None


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
    none or it does not say (a report that is not JSON is the weights hook's finding, not this one's).
    A report whose scheme drumgate does not know is weighted under the default scheme, and `fallback`
    says so."""
    rel = newest_weights_report(tree, rev, dataset)
    if rel is None:
        return Weighting()
    try:
        document = orjson.loads(tree.read_text(rev, rel))
    except (DrumgateError, orjson.JSONDecodeError):
        return Weighting()
    if not isinstance(document, dict):
        return Weighting()
    if document.get("scheme") not in SCHEMES:
        return Weighting(fallback=SchemeFallback(rel, _named_scheme(document)))
    parameters = document.get("parameters") if isinstance(document.get("parameters"), dict) else {}
    beta = parameters.get("beta", DEFAULT_BETA)
    quota = parameters.get("quota", "equal")
    return Weighting(
        document["scheme"],
        float(beta) if type(beta) in (int, float) and 0.0 <= beta < 1.0 else DEFAULT_BETA,
        quota if quota in QUOTAS else "equal",
    )


def _named_scheme(document: Mapping[str, Any]) -> str | None:
    """The scheme a report names, as text: a string as written, any other value as JSON, cut to SCHEME_KEPT."""
    if "scheme" not in document:
        return None
    scheme = document["scheme"]
    text = scheme if isinstance(scheme, str) else orjson.dumps(scheme).decode("utf-8")
    return text[:SCHEME_KEPT]


def compute_side_weights(
    tree: GitTree,
    side_ws: Workspace,
    rev: str,
    dataset: str,
    inputs: SideInputs,
    sources: Mapping[str, SideInputs] | None = None,
) -> tuple[Row | None, SchemeFallback | None]:
    """Sampling weights at one side, weighted as that side's newest weights report was (its scheme, beta
    and quota), or None when they cannot be made; beside them, the report whose scheme drumgate did not
    know when they were weighted under the default scheme instead."""
    from drumgate.reports.weights import compute_weights
    from drumgate.taxonomy import load_taxonomy

    if inputs.events is None:
        return None, None
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
        weights = compute_weights(
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
        return None, None
    return weights, weighting.fallback

"""Per-session sampling weights (domain.md §6): session quota spread over its excerpts, times a
class-rarity factor, normalised to sum 1 and rounded deterministically. They are for the training
sampler only: the sessions weighted and the class counts n_c are the `train` split's (a validation or
test session drawn by the sampler would be trained on).

One streaming pass keeps event counts per (session, excerpt, label); memory grows with the
number of excerpts and labels, not with the number of events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from drumgate.errors import REGENERATE_HINT, DrumgateError
from drumgate.reports.health_sessions import MISSING_AUDIO_STATUSES
from drumgate.taxonomy import Taxonomy

SCHEMA_VERSION = 1
SCHEMES = ("uniform", "inverse", "sqrt", "effective")
QUOTAS = ("equal", "sqrt_duration")
DEFAULT_BETA = 0.999
DECIMALS = 12
UNITS = 10**DECIMALS

EventRows = Iterable[tuple[int, Mapping[str, Any]]]
ErrorSink = Callable[[DrumgateError], None]
ExcerptCounts = dict[tuple[str, str, str, str], int]  # (session_id, item_id, label, split) -> events
TRAINING_SPLIT = "train"

SCHEME_TEXT = {
    "uniform": "w_c = 1 for every class",
    "inverse": "w_c proportional to 1/n_c (inverse class frequency)",
    "sqrt": "w_c proportional to 1/sqrt(n_c) (square-root smoothed inverse frequency)",
    "effective": "w_c proportional to (1 - beta)/(1 - beta^n_c) (effective number of samples, Cui et al. 2019)",
}
QUOTA_TEXT = {
    "equal": "every session gets the same quota",
    "sqrt_duration": "a session's quota is proportional to the square root of its duration in seconds",
}


def count_excerpts(rows: EventRows, on_error: ErrorSink | None = None) -> ExcerptCounts:
    counts: ExcerptCounts = {}
    first_line: dict[tuple[str, str, str, str], int] = {}
    get = counts.get
    iterator = iter(rows)
    line_no = 0
    while True:
        try:
            for line_no, row in iterator:
                key = (row["session_id"], row["item_id"], row["label"], row["split"])
                seen = get(key)
                if seen is None:
                    counts[key] = 1
                    first_line[key] = line_no
                else:
                    counts[key] = seen + 1
            break
        except (KeyError, TypeError) as exc:
            detail = f"lacks field {exc.args[0]!r}" if isinstance(exc, KeyError) else f"has a bad field ({exc})"
            _report(DrumgateError(f"event row {detail}", line=line_no, hint=REGENERATE_HINT), on_error, exc)
    return checked_excerpts(counts, on_error, first_line)


def checked_excerpts(counts: ExcerptCounts, on_error: ErrorSink | None = None,
                     first_line: Mapping[tuple[str, str, str, str], int] | None = None) -> ExcerptCounts:
    """`counts` without the keys whose session_id, item_id, label or split is not a non-empty string,
    each reported (with the line it was first seen on, when known) or raised without `on_error`."""
    bad = [key for key in counts if not all(isinstance(part, str) and part for part in key)]
    if bad:
        counts = dict(counts)  # the caller's counts are left as they were
    for key in sorted(bad, key=first_line.__getitem__) if first_line is not None else bad:
        message = f"session_id, item_id, label and split must be non-empty strings, got {list(key)!r}"
        _report(DrumgateError(message, line=(first_line or {}).get(key)), on_error, None)
        del counts[key]
    return counts


def _report(error: DrumgateError, on_error: ErrorSink | None, cause: Exception | None) -> None:
    if on_error is None:
        raise error from cause
    on_error(error)


def class_weights(class_counts: Mapping[str, int], scheme: str, beta: float) -> dict[str, float]:
    """Per-class weights for a scheme, normalised so they sum to the number of classes."""
    raw: dict[str, float] = {}
    for name, n in class_counts.items():
        if scheme == "uniform":
            raw[name] = 1.0
        elif scheme == "inverse":
            raw[name] = 1.0 / n
        elif scheme == "sqrt":
            raw[name] = 1.0 / math.sqrt(n)
        elif scheme == "effective":
            raw[name] = (1.0 - beta) / (1.0 - beta**n)
        else:
            raise DrumgateError(f"unknown scheme {scheme!r} (choose one of {', '.join(SCHEMES)})")
    total = sum(raw.values())
    return {name: raw[name] * len(raw) / total for name in sorted(raw)} if total else {}


def round_to_units(weights: Mapping[str, float]) -> dict[str, float]:
    """Round to 1e-12 by largest remainder (ties by key) so the rounded weights sum to exactly 1e12 units."""
    total = sum(weights.values())
    if not total:
        return {key: 0.0 for key in sorted(weights)}
    exact = {key: value / total * UNITS for key, value in weights.items()}
    units = {key: math.floor(value) for key, value in exact.items()}
    short = UNITS - sum(units.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - units[k]), k))[:short]:
        units[key] += 1
    return {key: units[key] / UNITS for key in sorted(units)}


def _session_seconds(sessions_rows: Iterable[Mapping[str, Any]] | None) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for row in sessions_rows or ():
        value = row.get("seconds")
        if isinstance(row.get("session_id"), str) and isinstance(value, (int, float)):
            seconds[row["session_id"]] = seconds.get(row["session_id"], 0.0) + float(value)
    return seconds


def session_quotas(sessions: Iterable[str], quota: str, seconds: Mapping[str, float]) -> dict[str, float]:
    if quota == "equal":
        return {sid: 1.0 for sid in sessions}
    if quota != "sqrt_duration":
        raise DrumgateError(f"unknown quota {quota!r} (choose one of {', '.join(QUOTAS)})")
    missing = sorted(sid for sid in sessions if sid not in seconds)
    if missing:
        raise DrumgateError(
            f"--quota sqrt_duration needs each session's seconds; {len(missing)} have none (first: {missing[0]!r})",
            hint="pass --sessions with the sessions inventory",
        )
    return {sid: math.sqrt(seconds[sid]) for sid in sessions}



def rolled_up(taxonomy: Taxonomy, present: Iterable[str]) -> dict[str, str]:
    """Each class counted as its furthest ancestor that is a class of the events too: rarity is weighed at
    the level every source can say. MUSDB's pseudo-labels say `cymbal` where E-GMD says `crash` and
    `ride`; counted apart, three `cymbal` hits made the rarest class and one 7-second clip drew 31% of
    the combined sampling."""
    found = set(present)
    rolled = {}
    for class_id in found:
        above = [ancestor for ancestor in taxonomy.ancestors(class_id)[1:] if ancestor in found]
        if above:
            rolled[class_id] = above[-1]
    return rolled


def _roll(counts: Mapping[str, int], rolled: Mapping[str, str]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for class_id, n in counts.items():
        target = rolled.get(class_id, class_id)
        merged[target] = merged.get(target, 0) + n
    return merged


def _describe(scheme: str, beta: float, quota: str) -> str:
    beta_text = f" with beta = {beta}" if scheme == "effective" else ""
    return (
        "Per-session sampling weights for the training sampler: only sessions of the train split whose audio is "
        "there (status not missing_audio or unreadable) are weighted and counted. "
        f"Class weights: {SCHEME_TEXT[scheme]}{beta_text}, n_c = train events of class c "
        "(taxonomy class ids, aliases resolved, each counted as its furthest ancestor that is a class of these events "
        "too (parameters.rolled_up); an event whose label the taxonomy does not know is not weighted), "
        "normalised so they sum "
        f"to the number of classes. Session quota: {QUOTA_TEXT[quota]}; it is spread evenly over the session's "
        "excerpts (item_id), and each excerpt is multiplied by the mean class weight of its events "
        "(an excerpt made mostly of rare classes is drawn more often, one stray rare event barely moves it). "
        "A session's weight is the sum over its excerpts; weights are "
        "normalised to sum 1 and rounded to 1e-12 by largest remainder (ties by session id). class_mass[c] is the "
        "expected share of class-c events when sessions are drawn by weight and events uniformly within a session."
    )


def compute_weights(
    taxonomy: Taxonomy,
    dataset: str,
    events_rows: EventRows | ExcerptCounts,
    sessions_rows: Iterable[Mapping[str, Any]] | None = None,
    *,
    scheme: str,
    beta: float = DEFAULT_BETA,
    quota: str = "equal",
    source: Mapping[str, str | None] | None = None,
    on_error: ErrorSink | None = None,
    unknown: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The weights document of the events' train sessions. An event whose label the taxonomy does not know
    is left out (counted as a class of its own, one hand-typed `kik` outweighed every real class), and
    counted per label into `unknown` for the caller to report."""
    if not 0.0 <= beta < 1.0:
        raise DrumgateError(f"--beta {beta:g} must be in [0, 1)",
                            hint=f"fix: pass --beta {DEFAULT_BETA}, or leave it out for that default")
    if scheme not in SCHEMES:
        raise DrumgateError(f"unknown scheme {scheme!r} (choose one of {', '.join(SCHEMES)})")
    counts = (checked_excerpts(events_rows, on_error) if isinstance(events_rows, dict)
              else count_excerpts(events_rows, on_error))
    session_rows = list(sessions_rows or ())
    # a sampler cannot load a session whose audio is missing or unreadable (an offline tier's is only
    # unplugged, and stays: weights must not change with which disks were mounted at ingest)
    unusable = {row["session_id"] for row in session_rows if isinstance(row, Mapping)
                and isinstance(row.get("session_id"), str) and isinstance(row.get("status"), str)
                and row["status"] in MISSING_AUDIO_STATUSES}
    class_counts: dict[str, int] = {}
    excerpt_classes: dict[tuple[str, str], dict[str, int]] = {}
    session_classes: dict[str, dict[str, int]] = {}
    resolved: dict[str, str] = {}
    for (session_id, item_id, label, split), n in counts.items():
        if split != TRAINING_SPLIT or session_id in unusable:
            continue
        # the hot loop (one pass per render-hit key at corpus scale): no call or empty dict a key needs not
        class_id = resolved.get(label)
        if class_id is None:
            class_id = resolved[label] = taxonomy.resolve_class(label) or ""
        if not class_id:
            if unknown is not None:
                unknown[label] = unknown.get(label, 0) + n
            continue
        class_counts[class_id] = class_counts.get(class_id, 0) + n
        excerpt = (session_id, item_id)
        per_excerpt = excerpt_classes.get(excerpt)
        if per_excerpt is None:
            excerpt_classes[excerpt] = {class_id: n}
        else:
            per_excerpt[class_id] = per_excerpt.get(class_id, 0) + n
        per_class = session_classes.get(session_id)
        if per_class is None:
            session_classes[session_id] = {class_id: n}
        else:
            per_class[class_id] = per_class.get(class_id, 0) + n
    rolled = rolled_up(taxonomy, class_counts)
    if rolled:
        class_counts = _roll(class_counts, rolled)
        excerpt_classes = {excerpt: _roll(classes, rolled) for excerpt, classes in excerpt_classes.items()}
        session_classes = {session: _roll(classes, rolled) for session, classes in session_classes.items()}
    rarity = class_weights(class_counts, scheme, beta)
    sessions = sorted(session_classes)
    quotas = session_quotas(sessions, quota, _session_seconds(session_rows))
    excerpts_per_session: dict[str, list[float]] = {sid: [] for sid in sessions}
    for (session_id, _), classes in sorted(excerpt_classes.items()):
        events = sum(classes.values())
        excerpts_per_session[session_id].append(sum(rarity[c] * n for c, n in classes.items()) / events)
    raw = {sid: quotas[sid] * sum(factors) / len(factors) for sid, factors in excerpts_per_session.items()}
    weights = round_to_units(raw)
    class_mass: dict[str, float] = {}
    for session_id, per_class in session_classes.items():
        total = sum(per_class.values())
        for class_id, n in per_class.items():
            class_mass[class_id] = class_mass.get(class_id, 0.0) + weights[session_id] * n / total
    parameters: dict[str, Any] = {"quota": quota, "rarity": "mean_class_weight_per_excerpt", "split": TRAINING_SPLIT}
    if scheme == "effective":
        parameters["beta"] = beta
    if rolled:
        parameters["rolled_up"] = dict(sorted(rolled.items()))
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "weights",
        "dataset": dataset,
        "scheme": scheme,
        "parameters": parameters,
        "group_by": "session_id",
        "source": {"events": (source or {}).get("events"), "sessions": (source or {}).get("sessions")},
        "weights": weights,
        "class_weights": {name: round(value, DECIMALS) for name, value in rarity.items()},
        "class_mass": {name: round(class_mass[name], DECIMALS) for name in sorted(class_mass)},
        "sessions": len(sessions),
        "description": _describe(scheme, beta, quota),
    }

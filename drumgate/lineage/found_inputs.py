"""Inputs a command finds for itself in the workspace, rather than being given on its command line.

`drumgate combine` reads the sessions of every dataset it does not mix (the songs an evaluation set
holds out) and the provenance of every dataset it mixes (its source-file hashes). `drumgate docs` is
told only a date: it reads the newest health report of every dataset up to it, the page and the diff
of that report, the newest weights and every dataset comparison. A lock entry lists the files it
found, so an input that changes or goes is caught like any other; but a file it would find now and
did not then (a comparison written after the docs) was invisible: the hook said nothing, repro
planned nothing, and the recorded command, run again, wrote new bytes. So the command and
`lineage.check` ask the one finder here what the command reads, and `check` calls an input that the
finder names and the entry does not list a new input, which stales the artifact.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from drumgate.artifacts import COMBINED, DIFFS_DIR, HEALTH_DIR, SAMPLING_DIR, Artifact, classify
from drumgate.workspace import Workspace

if TYPE_CHECKING:
    from drumgate.config import DatasetsConfig

COMPARES = "compare_*.md"  # under DIFFS_DIR: every dataset comparison, whatever its date


@dataclass(frozen=True)
class Found:
    """Workspace-relative paths of one dataset's newest artifacts."""

    dataset: str
    date: str
    health: str
    html: str | None
    diff: str | None
    weights: str | None

    @property
    def paths(self) -> dict[str, str | None]:
        return {"health": self.health, "html": self.html, "diff": self.diff, "weights": self.weights}


@dataclass(frozen=True)
class DocsSources:
    """What `drumgate docs` reads: each dataset's newest artifacts and the dataset comparisons."""

    datasets: list[Found]
    compares: list[str]

    @property
    def inputs(self) -> list[str]:
        return [p for found in self.datasets for p in found.paths.values() if p] + self.compares


def relative_files(ws: Workspace, folder: str, pattern: str) -> list[str]:
    return sorted(ws.rel(path) for path in (ws.root / folder).glob(pattern) if path.is_file())


def _is_health_diff_to(art: Artifact | None, rel: str, dataset: str, date: str) -> bool:
    """A diff whose head is the dataset's report of `date` and whose base is an earlier one (a report
    diffed against itself is no "diff vs previous")."""
    return bool(art and art.kind == "diff_md" and art.group == dataset and rel.endswith(f"_to_{date}.md")
                and not rel.endswith(f"_{date}_to_{date}.md"))


def newest_artifacts(ws: Workspace, up_to: str | None = None) -> list[Found]:
    """Each dataset's newest health report (dated `up_to`, YYYYMMDD, or before when given), its page,
    its diff vs previous and its newest weights."""
    health: dict[str, tuple[str, str]] = {}
    for rel in relative_files(ws, HEALTH_DIR, "*.json"):
        art = classify(rel)
        if art and art.kind == "health" and art.group and art.date and (up_to is None or art.date <= up_to):
            dataset = art.group
            if dataset not in health or art.date > health[dataset][0]:
                health[dataset] = (art.date, rel)
    diffs = [(classify(rel), rel) for rel in relative_files(ws, DIFFS_DIR, "*.md")]
    weights: dict[str, tuple[str, str]] = {}
    for rel in relative_files(ws, SAMPLING_DIR, "*.json"):
        art = classify(rel)
        if art and art.kind == "weights" and art.group:
            stamp = art.date or ""
            if up_to is not None and stamp > up_to:
                continue
            if art.group not in weights or stamp > weights[art.group][0]:
                weights[art.group] = (stamp, rel)
    found = []
    for dataset, (date, rel) in sorted(health.items(), key=lambda item: (item[0] == COMBINED, item[0])):
        html = rel.removesuffix(".json") + ".html"
        diff = [d for art, d in diffs if _is_health_diff_to(art, d, dataset, date)]
        found.append(
            Found(
                dataset,
                date,
                rel,
                html if ws.path(html).is_file() else None,
                diff[-1] if diff else None,
                weights.get(dataset, ("", None))[1],
            )
        )
    return found


def docs_sources(ws: Workspace, up_to: str | None = None) -> DocsSources:
    return DocsSources(newest_artifacts(ws, up_to), relative_files(ws, DIFFS_DIR, COMPARES))


def _docs_inputs(ws: Workspace, argv: Sequence[str]) -> list[str]:
    """What the recorded `docs --date YYYY-MM-DD` reads now."""
    date = next((argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "--date"), None)
    return docs_sources(ws, date.replace("-", "") if date else None).inputs


def _mixed(ws: Workspace) -> tuple[DatasetsConfig, set[str]]:
    """The datasets config and the datasets `combine` mixes (drumgate.reports.combined.mixed_datasets)."""
    from drumgate.config import load_datasets
    from drumgate.io import parts
    from drumgate.reports.combined import mixed_datasets

    config = load_datasets(ws)
    return config, set(mixed_datasets(config, lambda name: parts.stored(ws.events_manifest(name)) is not None))


def held_out_sessions(ws: Workspace) -> list[tuple[str, Path]]:
    """Each dataset `combine` does not mix that has a sessions manifest, with that manifest: combine
    reads them for the songs they hold out for evaluation."""
    from drumgate.io import parts

    config, mixed = _mixed(ws)
    stored = [(name, parts.stored(ws.sessions_manifest(name))) for name in config.datasets if name not in mixed]
    return [(name, path) for name, path in stored if path is not None]


def mixed_provenance(ws: Workspace) -> list[Path]:
    """The provenance of each dataset `combine` mixes that has one: combine reads its source-file hashes
    (the same audio in two splits is a leak, of the source's own gate and of the combined manifest)."""
    from drumgate.io import parts

    config, mixed = _mixed(ws)
    stored = [parts.stored(ws.provenance(name)) for name in config.datasets if name in mixed]
    return [path for path in stored if path is not None]


def _combine_inputs(ws: Workspace, argv: Sequence[str]) -> list[str]:
    """The held-out sessions manifests and the mixed datasets' provenance `combine` reads now: one that
    was not there when combine ran is in no entry (its other inputs are the mix's events and sessions,
    named by datasets.toml, which the entry lists and whose change stales it already)."""
    from drumgate.io import parts

    found = [*mixed_provenance(ws), *(path for _, path in held_out_sessions(ws))]
    return [ws.rel(parts.lock_path(path)) for path in found]


def _of_datasets_mixed_then(paths: Iterable[str], listed: set[str]) -> list[str]:
    """`paths` without the provenance of a dataset whose events the entry does not list: combine did not
    mix it then, and repro words a dataset mixed since as the mix that moved, not as a file missed."""
    mixed = {found.group for found in map(classify, listed) if found is not None and found.manifest == "events"}
    return [path for path in paths
            if (found := classify(path)) is None or found.manifest != "provenance" or found.group in mixed]


FINDERS: dict[str, Callable[[Workspace, Sequence[str]], list[str]]] = {"docs": _docs_inputs, "combine": _combine_inputs}


def new_inputs(ws: Workspace, command: str, recorded: Iterable[str],
               memo: dict[str, list[str]] | None = None) -> list[str]:
    """Inputs the recorded `command` would read now that its lock entry does not list (`recorded`).
    `memo` keeps each command's finding for one check (a summary and the plan share a command)."""
    argv = shlex.split(command)[1:]
    finder = FINDERS.get(argv[0]) if argv else None
    if finder is None:
        return []
    memo = {} if memo is None else memo
    if command not in memo:
        memo[command] = finder(ws, argv)
    listed = set(recorded)
    missed = [path for path in memo[command] if path not in listed]
    return _of_datasets_mixed_then(missed, listed) if argv[0] == "combine" else missed

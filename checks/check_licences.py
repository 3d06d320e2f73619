"""Hook: every dataset with staged artifacts has a complete licence note `data/licenses/<ds>.md`.

A complete note has front matter with licence, commercial_use, redistribution, attribution and
source (`drumgate.licences`). The combined group needs the notes of every dataset it mixes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from checks._hookutil import Reporter, add_filenames, unique, workspace_relative
from drumgate import cli
from drumgate.artifacts import classify
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_filenames(parser)


def datasets_needing_notes(ws: Workspace, groups: list[str]) -> list[tuple[str, str, str]]:
    """(dataset, licence note path, why) for each dataset the staged groups draw on."""
    from drumgate.config import load_datasets

    config = load_datasets(ws)
    combined_group = config.combined.get("group", "prod_combined")
    needed: list[tuple[str, str, str]] = []
    for group in groups:
        if group == combined_group:
            members = sorted(config.combined.get("mix", {}) or config.datasets)
            why = f"{group} mixes it"
        else:
            members = [name for name, ds in config.datasets.items() if ds.group == group or name == group]
            why = "it has staged artifacts"
            if not members:
                needed.append((group, f"data/licenses/{group}.md", "not a dataset in configs/datasets.toml"))
        for name in members:
            needed.append((name, config.datasets[name].licence_note if name in config.datasets else "", why))
    return needed


def check_note(ws: Workspace, dataset: str, note: str, why: str, reporter: Reporter) -> None:
    from drumgate.licences import REQUIRED_KEYS, read_licence_note

    template = "fix: write {note} with a front matter block (--- lines) holding " + ", ".join(REQUIRED_KEYS)
    if not note:
        reporter.finding(
            None,
            f"dataset {dataset} ({why}) has no licence_note in configs/datasets.toml",
            hint='fix: add licence_note = "data/licenses/<ds>.md" to its section',
        )
        return
    path = ws.path(note)
    if not path.is_file():
        reporter.finding(note, f"licence note for {dataset} is missing ({why})", hint=template.format(note=note))
        return
    try:
        parsed = read_licence_note(path)
    except DrumgateError as err:
        err.path = note
        reporter.add(err, template.format(note=note))
        return
    if parsed.missing:
        reporter.finding(
            note,
            f"licence note incomplete: no {', '.join(parsed.missing)}",
            hint=f"fix: add {', '.join(k + ': ...' for k in parsed.missing)} to its front matter",
        )


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    reporter = Reporter()
    artifacts = [classify(workspace_relative(ws, name)) for name in args.filenames]
    groups = unique(a.group for a in artifacts if a is not None and a.group is not None)
    if not groups:
        return reporter.close()
    checked: set[str] = set()
    for dataset, note, why in datasets_needing_notes(ws, groups):
        if dataset in checked:
            continue
        checked.add(dataset)
        check_note(ws, dataset, note, why, reporter)
    return reporter.close()


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m checks.check_licences")


if __name__ == "__main__":
    raise SystemExit(main())

"""`drumgate hook taxonomy`: the command layer of `checks.check_taxonomy`, whose docstring is its --help.

It hands the check the configs that name classes, each judged by its own loader's rules: those live
in `ingest/` and `drumgate/reports/`, which `checks/` does not import.
"""

from __future__ import annotations

import argparse
from typing import Any

from checks import check_taxonomy
from checks._taxonomy_change import ConfigCheck
from drumgate.cli.hooks import add_filenames, run_on_files
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace

__doc__ = check_taxonomy.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_filenames(parser)


def run(args: argparse.Namespace) -> int:
    return run_on_files("taxonomy", args, lambda ws, names, reporter: check_taxonomy.check_files(
        ws, names, reporter, class_configs))


def class_configs() -> list[ConfigCheck]:
    return [_stem_names, _note_map, _mdb_labels, _gates]


def _loaded(ws: Workspace, name: str, schema: str) -> Any:
    """The config when the workspace has it (a dataset not set up has none); a schema error is a finding."""
    from drumgate.config import load_config_json

    return load_config_json(ws, name, schema) if (ws.configs / name).is_file() else None


def _each(ws: Workspace, name: str, schema: str, problems: Any) -> list[DrumgateError]:
    try:
        raw = _loaded(ws, name, schema)
    except DrumgateError as err:
        return [err]
    if raw is None:
        return []
    return [DrumgateError(message, path=ws.configs / name, hint=hint) for message, hint in problems(raw)]


def _stem_names(ws: Workspace, taxonomy: Any) -> list[DrumgateError]:
    from ingest.cambridge.stems import unknown_instruments

    classes = set(taxonomy.classes)
    return _each(ws, "stem_names.json", "stem_names",
                 lambda raw: [(message, None) for message in unknown_instruments(raw, classes)])


def _note_map(ws: Workspace, taxonomy: Any) -> list[DrumgateError]:
    from ingest.egmd.note_map import NOTE_MAP_FILE, note_map_problems

    return _each(ws, NOTE_MAP_FILE, "roland_note_map", lambda raw: note_map_problems(raw, taxonomy))


def _mdb_labels(ws: Workspace, taxonomy: Any) -> list[DrumgateError]:
    from ingest.mdb_drums import CONFIG_FILE, label_problems

    return _each(ws, CONFIG_FILE, "mdb_drums", lambda raw: label_problems(raw, taxonomy))


def _gates(ws: Workspace, taxonomy: Any) -> list[DrumgateError]:
    from drumgate.config import line_of, load_datasets
    from drumgate.reports.gates import GATE_NAME_FIX, gate_name_problems, gate_tables

    if not (ws.configs / "datasets.toml").is_file():
        return []
    try:
        config = load_datasets(ws)
    except DrumgateError as err:
        return [err]
    return [DrumgateError(message, path=config.path, line=line_of(config.path, table, name), hint=GATE_NAME_FIX)
            for table, gates in gate_tables(config) for name, message in gate_name_problems(table, gates, taxonomy)]

"""The ingestor contract (issue 14), proven for every dataset module that declares it (`INGESTOR`).

A module joins this test by declaring `INGESTOR = <its contract.Ingestor subclass>` and adding a
corpus builder to CORPORA below (a tiny tree in the dataset's real layout). Every test then runs
on it: the dataset card, the declarations, schema-valid deterministic output, one licence policy,
atomic multi-file writes, the empty-manifest refusal, offline tiers, dates, `--json`, the driver
taking plain values, and events reaching `drumgate health`.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import pkgutil
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest

import ingest
from drumgate import cli
from drumgate.cli.ingest import add_ingest_arguments, options_from
from drumgate.config import load_datasets
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import DEFAULTS, Workspace, packaged_datasets
from ingest import contract
from tests.mdb_fixtures import make_mdb_tree


def make_cambridge_primary(root: Path) -> object:
    """The demo's Cambridge sessions of the primary tier only: the external tier stays unplugged."""
    with tempfile.TemporaryDirectory() as elsewhere:
        return make_cambridge_corpus(root, Path(elsewhere) / "external", seed=3)


CORPORA: dict[str, Callable[[Path], object]] = {
    "egmd": lambda root: make_egmd_corpus(root, seed=3, performances=2, kits=2),
    "mdb_drums": make_mdb_tree,
    "musdb_hq": lambda root: make_musdb_corpus(root, seed=3, seconds=2.0),
    "cambridge": make_cambridge_primary,
}


def contract_modules() -> list[ModuleType]:
    found = []
    for info in sorted(pkgutil.iter_modules(ingest.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"ingest.{info.name}")
        declared = getattr(module, "INGESTOR", None)
        if isinstance(declared, type) and issubclass(declared, contract.Ingestor):
            found.append(module)
    return found


MODULES = contract_modules()


def test_the_fourth_dataset_and_the_migrated_ones_declare_the_contract() -> None:
    assert {"ingest.mdb_drums", "ingest.musdb", "ingest.cambridge"} <= {module.__name__ for module in MODULES}


@pytest.fixture(params=MODULES, ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def module(request: pytest.FixtureRequest) -> ModuleType:
    return request.param


@pytest.fixture
def cls(module: ModuleType) -> type[contract.Ingestor]:
    return module.INGESTOR


@pytest.fixture
def corpus(workspace: Workspace, cls: type[contract.Ingestor]) -> Path:
    assert cls.dataset in CORPORA, f"add a corpus builder for {cls.dataset} to CORPORA"
    root = load_datasets(workspace).get(cls.dataset).roots[0].path
    CORPORA[cls.dataset](root)
    return root


def ingest_cmd(cls: type[contract.Ingestor], *extra: str) -> int:
    return cli.main(["ingest", cls.command, *extra])


def artifacts(ws: Workspace, cls: type[contract.Ingestor]) -> dict[str, Path]:
    return contract.output_targets(ws, cls.outputs, {}, cls.dataset)


def contents(paths: dict[str, Path]) -> dict[str, bytes | None]:
    return {kind: path.read_bytes() if path.is_file() else None for kind, path in paths.items()}


# ---------------------------------------------------------------- declarations


def test_module_starts_with_a_complete_dataset_card(module: ModuleType) -> None:
    assert contract.card_problems(module.__doc__) == []


def test_declarations_name_real_configs_commands_and_licence(module: ModuleType, cls: type[contract.Ingestor]) -> None:
    assert cls.dataset in packaged_datasets()
    assert (DEFAULTS / "licenses" / f"{cls.dataset}.md").is_file()
    assert all((DEFAULTS / "configs" / name).is_file() for name in cls.config_files)
    target = cli.COMMANDS["ingest"][cls.command][0]
    assert target == f"drumgate.cli.ingest:{module.__name__.removeprefix('ingest.')}"
    assert all(cli.ALIASES["ingest"][alias] == cls.command for alias in cls.aliases)
    assert set(cls.outputs) <= set(contract.ARTIFACT_KINDS)
    adapter = cli.load_command(target)
    assert adapter.ingestor is cls and adapter.__doc__ == module.__doc__  # `--help` shows the dataset card
    assert (Path(module.__file__).parent / "__main__.py").is_file(), "python -m ingest.<ds> needs a __main__.py"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def command_line_imports(path: Path) -> set[str]:
    return {name for name in imported_modules(path)
            if name == "argparse" or name == "drumgate.cli" or name.startswith("drumgate.cli.")}


def test_dataset_module_leaves_the_command_line_to_the_cli(module: ModuleType) -> None:
    """Only `drumgate/cli/` sees argparse (issue 14); a `__main__.py` shim may call into it."""
    sources = Path(module.__file__).parent.glob("*.py")
    assert {path.name: command_line_imports(path) for path in sources
            if path.name != "__main__.py" and command_line_imports(path)} == {}


def test_ingest_commands_leave_the_command_line_to_the_cli() -> None:
    folder = Path(ingest.__file__).parent
    names = ["__init__.py", "contract.py", "ingest_report.py", "merge.py", "crash_map.py", "combine.py"]
    assert {name: command_line_imports(folder / name) for name in names
            if command_line_imports(folder / name)} == {}


# ---------------------------------------------------------------- behaviour


def test_output_is_schema_valid_locked_and_deterministic(workspace: Workspace, cls, corpus: Path, capsys) -> None:
    assert ingest_cmd(cls) == 0
    paths = artifacts(workspace, cls)
    first = contents(paths)
    for kind, path in paths.items():
        schema = json.loads((workspace.schemas / f"{kind}.schema.json").read_text(encoding="utf-8"))
        rows = read_jsonl(path)
        assert rows, f"{kind} is empty"
        for row in rows:
            jsonschema.validate(row, schema)
    lock = json.loads(workspace.lock_file(load_datasets(workspace).get(cls.dataset).group).read_text())
    assert {workspace.rel(p) for p in paths.values()} <= set(lock["artifacts"])
    assert ingest_cmd(cls) == 0
    assert contents(paths) == first


def test_incomplete_licence_note_refuses_with_one_line_and_writes_nothing(
    workspace: Workspace, cls, corpus: Path, capsys
) -> None:
    note = workspace.path(load_datasets(workspace).get(cls.dataset).licence_note)
    note.write_text(note.read_text(encoding="utf-8").replace("attribution:", "attribution_removed:"), encoding="utf-8")
    assert ingest_cmd(cls) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "licence note incomplete: no attribution" in err[0]
    assert contents(artifacts(workspace, cls)) == dict.fromkeys(cls.outputs)
    assert list(workspace.root.glob("data/locks/*.json")) == []


def test_a_failing_second_writer_leaks_no_temporary_file(workspace: Workspace, cls, corpus: Path, capsys) -> None:
    assert ingest_cmd(cls) == 0
    paths = artifacts(workspace, cls)
    before = contents(paths)
    second_kind = cls.outputs[1]
    blocked = workspace.root / "blocked"
    blocked.mkdir()
    assert ingest_cmd(cls, cls.output_flags[second_kind], str(blocked)) == 2
    assert "is a folder" in capsys.readouterr().err
    assert contents(paths) == before
    folders = {path.parent for path in paths.values()}
    assert [p.name for folder in folders for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_an_empty_result_never_replaces_rows_unless_allowed(workspace: Workspace, cls, corpus: Path, capsys) -> None:
    assert ingest_cmd(cls) == 0
    paths = artifacts(workspace, cls)
    before = contents(paths)
    shutil.rmtree(corpus)
    corpus.mkdir()
    assert ingest_cmd(cls) == 1
    assert "refusing to replace it with an empty manifest" in capsys.readouterr().err
    assert contents(paths) == before
    code = ingest_cmd(cls, "--allow-empty", "--json")
    captured = capsys.readouterr()
    assert "refusing" not in captured.err
    findings = json.loads(captured.out)["findings"]
    assert code == (1 if findings else 0)  # an empty root may be a finding of its own (MUSDB's is)
    assert all(read_jsonl(path) == [] for path in paths.values())


def test_an_offline_tier_is_carried_forward_never_dropped(
    workspace: Workspace, cls, corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert ingest_cmd(cls) == 0
    paths = artifacts(workspace, cls)
    sessions_before = read_jsonl(paths["sessions"])
    root = load_datasets(workspace).get(cls.dataset).roots[0]
    assert root.env is not None
    monkeypatch.setenv(root.env, str(workspace.root / "unplugged-drive"))
    assert ingest_cmd(cls) == 0
    out = capsys.readouterr().out
    assert f"tier {root.tier} offline" in out
    sessions_after = read_jsonl(paths["sessions"])
    assert [row["session_id"] for row in sessions_after] == [row["session_id"] for row in sessions_before]
    assert {row["status"] for row in sessions_after} == {"tier_offline"}
    if "events" in paths:
        assert len(read_jsonl(paths["events"])) > 0


def test_ingest_date_comes_from_date_or_source_date_epoch_never_the_clock(
    workspace: Workspace, cls, corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    provenance = artifacts(workspace, cls)["provenance"]
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert ingest_cmd(cls) == 0
    assert all("ingest_date" not in row for row in read_jsonl(provenance))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert ingest_cmd(cls) == 0
    assert {row["ingest_date"] for row in read_jsonl(provenance)} == {"1970-01-02"}
    assert ingest_cmd(cls, "--date", "2025-03-04") == 0
    assert {row["ingest_date"] for row in read_jsonl(provenance)} == {"2025-03-04"}
    lock = json.loads(workspace.lock_file(load_datasets(workspace).get(cls.dataset).group).read_text())
    assert lock["artifacts"][workspace.rel(provenance)]["command"].endswith("--date 2025-03-04")


def test_json_is_one_document_on_stdout_matching_the_files(workspace: Workspace, cls, corpus: Path, capsys) -> None:
    assert ingest_cmd(cls, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    paths = artifacts(workspace, cls)
    assert document["dataset"] == cls.dataset
    assert document["written"] == [workspace.rel(path) for path in paths.values()]
    for kind, path in paths.items():
        assert document[kind] == len(read_jsonl(path))


def test_the_driver_takes_plain_values(workspace: Workspace, cls, corpus: Path, tmp_path: Path) -> None:
    events_out = tmp_path / "scratch" / "events.jsonl"
    kind = cls.outputs[0]
    report = contract.ingest(cls, workspace, contract.IngestOptions(root=str(corpus), outputs={kind: str(events_out)}))
    assert report.exit_code == 0 and report.written[0] == events_out.as_posix()
    assert len(read_jsonl(events_out)) == getattr(report, kind)


def test_events_reach_health(workspace: Workspace, cls, corpus: Path, capsys) -> None:
    if "events" not in cls.outputs:
        pytest.skip(f"{cls.dataset} writes no events manifest")
    assert ingest_cmd(cls) == 0
    events = artifacts(workspace, cls)["events"]
    report_path = workspace.root / "health.json"
    code = cli.main(["health", "--events", str(events), "--output", str(report_path), "--date", "2025-03-04",
                     "--html-output", str(report_path.with_suffix(".html"))])
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert code in (0, 1)
    assert report["dataset"] == cls.dataset
    assert report["totals"]["events"] == len(read_jsonl(events))
    assert report["totals"]["sessions"] == len(read_jsonl(artifacts(workspace, cls)["sessions"]))


class WithOptions(contract.Ingestor):
    """A declaration-only ingestor: how declared options travel from the command line to the lock."""

    dataset = "mdb_drums"
    command = "mdb_drums"
    options = (
        contract.Option("tolerance", "seconds", default=2.0, parse=float),
        contract.Option("reference", "slow path", parse=None, default=False),
        contract.Option("jobs", "workers", default=0, parse=int, recorded=False),
    )


def test_declared_options_reach_settings_and_only_recorded_changes_reach_the_lock(workspace: Workspace) -> None:
    parser = argparse.ArgumentParser()
    add_ingest_arguments(parser, WithOptions)
    args = parser.parse_args(["--tolerance", "0.5", "--reference", "--jobs", "3", "--date", "2025-03-04"])
    options = options_from(WithOptions, args)
    assert options.settings == {"tolerance": 0.5, "reference": True, "jobs": 3}
    targets = contract.output_targets(workspace, WithOptions.outputs, options.outputs, WithOptions.dataset)
    assert contract.regenerate_argv(WithOptions, workspace, options, targets) == [
        "ingest", "mdb_drums", "--tolerance", "0.5", "--reference", "--date", "2025-03-04"]
    defaults = options_from(WithOptions, parser.parse_args([]))
    assert contract.regenerate_argv(WithOptions, workspace, defaults, targets) == ["ingest", "mdb_drums"]

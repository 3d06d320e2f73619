"""MUSDB and Cambridge moved onto the ingestor contract (issue 14) without changing what they write.

The demo's ingest stages for both datasets run on the demo corpus twice: with the code before the
migration (`ingest/musdb.py` and `ingest/cambridge.py` from PRE_MIGRATION, in a temporary copy of
the tree put first on PYTHONPATH) and with the code now. Manifests, provenance and checksum
manifests must be byte-identical after day one and after day two (a new MUSDB track, the external
Cambridge drive unplugged); lock entries must be identical except for the changes
docs/ingestors.md lists: the licence note is an input of every artifact, and the external input
is the contract's one `raw_sources` fingerprint (for MUSDB the same digest under a new name).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drumgate.commands.demo import DAY_ONE, DAY_TWO, LATE_TRACK, UNMOUNTED, prepare_workspace
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.musdb import make_musdb_corpus

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRE_MIGRATION = "5599b0eaf4bdcf94092d32935a41af183270d6d9"  # the last commit with ingest/musdb.py, ingest/cambridge.py
MIGRATED = ("ingest/musdb.py", "ingest/cambridge.py")
DEMO_SEED = 7
LICENCE_NOTES = {"cambridge": "data/licenses/cambridge.md", "musdb_hq": "data/licenses/musdb_hq.md"}
SNAPSHOT_FOLDERS = ("data/manifests", "data/provenance", "data/archives/checksums")
# The pre-migration modules import core modules by their names before the layout by concern (issue 14);
# in the before tree each old name is an alias of the module now serving it.
OLD_CORE_NAMES = {
    "grouplock": "drumgate.lineage.grouplock", "hashing": "drumgate.io.hashing", "jsonio": "drumgate.io.jsonio",
    "overlap": "drumgate.reports.overlap", "provenance": "drumgate.lineage.provenance",
    "audio": "drumgate.signal.audio", "onsets": "drumgate.signal.onsets", "transcribe": "drumgate.signal.transcribe",
    "textsafe": "drumgate.render.textsafe",
}
OVERLAP_OUT = "overlap-run"
CAMBRIDGE_SESSIONS = "data/raw/overlap_sessions.jsonl"  # the MUSDB fixture's DSD tracks, as Cambridge names them

# The demo's stages that touch the two datasets, in the demo's order (drumgate/commands/demo.py day_one/day_two).
RUNNER = """
import json, os, shutil, sys
from pathlib import Path
import drumgate.lineage.provenance
drumgate.lineage.provenance.ingest_commit = lambda: "pinned-for-comparison"  # the two trees are different checkouts
from drumgate import cli
import ingest.musdb

stages, days = [], json.loads(sys.argv[1])
for day, steps in days:
    if day == "day_two":
        shutil.move("data/raw/musdb_hq_incoming/" + steps[0], "data/raw/musdb_hq/" + steps[0])
        steps = steps[1:]
    for env, argv in steps:
        os.environ.update(env)
        code = cli.main(argv)
        for key in env:
            del os.environ[key]
        stages.append([argv, code])
    snapshot = Path("..", "snapshots", day)
    for folder in json.loads(sys.argv[2]) + ["data/locks"]:
        if Path(folder).is_dir():
            shutil.copytree(folder, snapshot / folder, ignore=shutil.ignore_patterns("*.lck"))
print(json.dumps({"module": ingest.musdb.__file__, "stages": stages}))
"""


def _days(overlap_out: Path) -> list[Any]:
    musdb_elsewhere = ["--output", str(overlap_out / "e.jsonl"), "--sessions", str(overlap_out / "s.jsonl"),
                       "--provenance", str(overlap_out / "p.jsonl")]
    return [
        ["day_one", [
            [{}, ["checksums", "generate", "cambridge"]],
            [{}, ["ingest", "cambridge", "--dry-run"]],
            [{}, ["ingest", "cambridge"]],
            [{}, ["ingest", "musdb", "--date", DAY_ONE]],
            [{}, ["checksums", "generate", "musdb_hq"]],
        ]],
        ["day_two", [
            LATE_TRACK.as_posix(),
            [{}, ["ingest", "musdb", "--date", DAY_TWO]],
            [{}, ["checksums", "generate", "musdb_hq"]],
            [UNMOUNTED, ["ingest", "cambridge"]],
            [{}, ["ingest", "musdb", "--date", DAY_TWO, "--cambridge-sessions", CAMBRIDGE_SESSIONS, *musdb_elsewhere]],
        ]],
    ]


def _git_show(path: str) -> bytes:
    done = subprocess.run(["git", "show", f"{PRE_MIGRATION}:{path}"], cwd=PROJECT_ROOT, capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"the pre-migration commit {PRE_MIGRATION[:12]} is not in this checkout")
    return done.stdout


def _tree_before(target: Path) -> Path:
    """The tree as it is now, with the two ingestors as they were before the migration."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("drumgate", "ingest", "checks"):
        shutil.copytree(PROJECT_ROOT / package, target / package, symlinks=True, ignore=ignore)
    stems = (target / "ingest" / "cambridge" / "stems.py").read_bytes()
    for package in ("musdb", "cambridge"):
        shutil.rmtree(target / "ingest" / package)
    for path in MIGRATED:
        (target / path).write_bytes(_git_show(path))
    (target / "drumgate" / "stems.py").write_bytes(stems)
    for old, new in OLD_CORE_NAMES.items():
        (target / "drumgate" / f"{old}.py").write_text(
            f"import importlib\nimport sys\n\nsys.modules[__name__] = importlib.import_module({new!r})\n",
            encoding="utf-8")
    dispatcher = target / "drumgate" / "cli" / "__init__.py"  # the old modules are their own command adapters
    text = dispatcher.read_text(encoding="utf-8")
    for module in ("musdb", "cambridge"):
        text = text.replace(f'"drumgate.cli.ingest:{module}"', f'"ingest.{module}"')
    dispatcher.write_text(text, encoding="utf-8")
    return target


def _run(tree: Path, base: Path, corpus: Path) -> dict[str, Any]:
    workspace = base / "ws"
    prepare_workspace(workspace, force=False)
    shutil.copytree(corpus, workspace / "data" / "raw")
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    env.update(PYTHONPATH=str(tree), DRUMGATE_WORKSPACE=str(workspace), DRUMGATE_CACHE_DIR=str(base / "cache"))
    days = json.dumps(_days(base / OVERLAP_OUT))
    done = subprocess.run([sys.executable, "-c", RUNNER, days, json.dumps(SNAPSHOT_FOLDERS)], cwd=workspace,
                          env=env, capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["overlap"] = [line for line in done.stdout.splitlines() if line.startswith("overlap\t")]
    return result


def _files(snapshot: Path) -> dict[str, bytes]:
    return {p.relative_to(snapshot).as_posix(): _comparable(p)
            for folder in SNAPSHOT_FOLDERS for p in sorted((snapshot / folder).rglob("*")) if p.is_file()}


def _comparable(path: Path) -> bytes:
    """A file's bytes; a provenance file's with `config_hashes["datasets.toml"]` left out: since
    2026-12-03 provenance records that file by the tables the dataset's group reads, not whole
    (drumgate.lineage.config_parts), the one change after the migration."""
    if path.parent.name != "provenance":
        return path.read_bytes()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row.get("config_hashes", {}).pop("datasets.toml", None)
    return json.dumps(rows, sort_keys=True).encode("utf-8")


def _lock_entries(snapshot: Path, group: str) -> dict[str, Any]:
    return json.loads((snapshot / "data" / "locks" / f"{group}.lock.json").read_text(encoding="utf-8"))["artifacts"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    base = tmp_path_factory.mktemp("migration")
    corpus = base / "corpus"
    make_cambridge_corpus(corpus / "cambridge", corpus / "cambridge_external", seed=DEMO_SEED)
    truth = make_musdb_corpus(corpus / "musdb_hq", seed=DEMO_SEED)
    (corpus / "overlap_sessions.jsonl").write_text(
        "".join(json.dumps({"session_id": name}) + "\n" for name in truth["cambridge_sessions"]), encoding="utf-8")
    (corpus / "musdb_hq_incoming" / LATE_TRACK).parent.mkdir(parents=True)
    (corpus / "musdb_hq" / LATE_TRACK).rename(corpus / "musdb_hq_incoming" / LATE_TRACK)
    before_tree = _tree_before(base / "before_tree")
    results = {}
    for name, tree in (("before", before_tree), ("after", PROJECT_ROOT)):
        results[name] = (base / name / "snapshots", _run(tree, base / name, corpus))
    return results


def test_each_side_ran_its_own_code(runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    assert runs["before"][1]["module"].endswith("ingest/musdb.py")
    assert runs["after"][1]["module"] == str(PROJECT_ROOT / "ingest" / "musdb" / "__init__.py")


def test_every_stage_exits_as_before(runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    before, after = runs["before"][1]["stages"], runs["after"][1]["stages"]
    assert [(argv[:4], code) for argv, code in after] == [(argv[:4], code) for argv, code in before]
    assert {code for _, code in after} <= {0, 1}


@pytest.mark.parametrize("day", ["day_one", "day_two"])
def test_manifests_provenance_and_checksums_are_byte_identical(
    runs: dict[str, tuple[Path, dict[str, Any]]], day: str
) -> None:
    before, after = _files(runs["before"][0] / day), _files(runs["after"][0] / day)
    assert sorted(after) == sorted(before)
    assert {"data/manifests/cambridge_sessions_dryrun.jsonl", "data/provenance/musdb_hq_provenance.jsonl"} <= set(after)
    assert [name for name in after if after[name] != before[name]] == []
    if day == "day_two":
        sessions = after["data/manifests/cambridge_sessions.jsonl"].decode()
        assert '"status":"tier_offline"' in sessions  # the unplugged drive's session is carried forward


@pytest.mark.parametrize("day", ["day_one", "day_two"])
@pytest.mark.parametrize("group", ["cambridge", "musdb_hq"])
def test_lock_entries_differ_only_as_docs_ingestors_lists(
    runs: dict[str, tuple[Path, dict[str, Any]]], day: str, group: str
) -> None:
    before = _lock_entries(runs["before"][0] / day, group)
    after = _lock_entries(runs["after"][0] / day, group)
    assert sorted(after) == sorted(before)
    note = LICENCE_NOTES[group]
    for artifact, entry in after.items():
        old = dict(before[artifact])
        if not artifact.startswith(("data/manifests/", "data/provenance/")):
            assert entry == old, artifact  # checksum manifests: not an ingest's
            continue
        assert entry["inputs"] == {**old["inputs"], note: entry["inputs"][note]}, artifact
        assert list(entry["external_inputs"]) == ["raw_sources"], artifact
        if group == "musdb_hq":
            assert entry["external_inputs"]["raw_sources"] == old["external_inputs"]["musdb_root"], artifact
        # the note is read for its front matter (drumgate.lineage.config_parts)
        assert entry["input_parts"] == {**old.get("input_parts", {}), note: ["front matter"]}, artifact
        old.update(inputs=entry["inputs"], external_inputs=entry["external_inputs"], input_parts=entry["input_parts"])
        if artifact.startswith("data/provenance/"):  # its datasets.toml hash (see _comparable)
            old.update(sha256=entry["sha256"])
        assert entry == old, artifact


def test_overlap_list_is_printed_as_before(runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    assert runs["after"][1]["overlap"] == runs["before"][1]["overlap"]
    assert any("\tcambridge\t" in line for line in runs["after"][1]["overlap"])

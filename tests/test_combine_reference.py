"""The combined manifest references its sources' rows instead of copying them (issue 15).

`drumgate combine` writes `data/manifests/prod_combined_events.json`; `drumgate.events.read` on it
yields exactly the rows the old combine wrote (its row builder, `ingest.combine.combined_rows`, is
the reference implementation here), and a reference that no longer matches its sources is one line
naming the file, with the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drumgate import cli, events
from drumgate.config import load_datasets
from drumgate.errors import DrumgateError
from drumgate.io import combined_reference, parts
from drumgate.io.jsonio import read_json, read_jsonl, write_json, write_jsonl
from drumgate.lineage import check, read_lock
from drumgate.reports.report_io import ErrorCollector
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest.combine import CombineState, SongKeys, combined_rows, combined_sessions, find_sources
from tests.combine_fixtures import three_dataset_workspace
from tests.test_combine_cli import set_mix

DATE = "2025-03-02"
REFERENCE = "data/manifests/prod_combined_events.json"
COPIED = "data/manifests/prod_combined_events.jsonl"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return three_dataset_workspace(tmp_path / "ws")


def combine(ws: Workspace) -> int:
    return cli.main(["combine", "--workspace", str(ws.root), "--date", DATE])


def copied_rows(ws: Workspace) -> list[dict[str, Any]]:
    """The rows the combine before the reference wrote, from its row builder."""
    sources, *_ = find_sources(ws, load_datasets(ws))
    songs = SongKeys(ws)
    errors = ErrorCollector(ws.root)
    combined_sessions(sources, songs, errors)
    rows = list(combined_rows(sources, load_taxonomy(ws), songs, CombineState(), errors))
    assert errors.errors == []
    return rows


def vary_sources(ws: Workspace) -> None:
    """Rows that exercise every rule: a declared song key, a variant of its own, a crash label without one."""
    rows = read_jsonl(ws.events_manifest("egmd"))
    rows[0]["attributes"] = {"song_key": "declared-song"}
    rows[1]["label"], rows[1]["variant"] = "crash", "splash"
    rows[2]["label"] = "crash"
    write_jsonl(ws.events_manifest("egmd"), rows)


@pytest.mark.parametrize("mix", ["cambridge = 1.0, musdb_hq = 1.0, egmd = 1.0",
                                 "cambridge = 0.3, musdb_hq = 0.5, egmd = 0.7"])
def test_the_reference_yields_the_rows_the_copy_held(ws: Workspace, mix: str) -> None:
    set_mix(ws, mix)
    vary_sources(ws)
    expected = copied_rows(ws)
    combine(ws)
    reference = read_json(ws.path(REFERENCE))
    assert list(events.read(ws.path(REFERENCE))) == expected
    assert list(events.read(ws.path(COPIED))) == expected, "the old name reads the reference"
    assert events.count_rows(ws.path(REFERENCE)) == len(expected) == reference["rows"]
    family = reference["crash_dual_label"]["family_labels"]
    assert family == ["china", "crash"] if mix.endswith("egmd = 1.0") else "china" in family
    egmd = next(source for source in reference["sources"] if source["dataset"] == "egmd")
    assert egmd["manifest"] == "egmd_events.jsonl" and list(egmd["files"]) == ["egmd_events.jsonl"]
    assert ws.path(REFERENCE).stat().st_size < 4096


def test_a_partitioned_source_is_referenced_part_by_part(ws: Workspace) -> None:
    vary_sources(ws)
    assert cli.main(["migrate", "--workspace", str(ws.root), str(ws.events_manifest("egmd"))]) == 0
    expected = copied_rows(ws)
    combine(ws)
    assert list(events.read(ws.path(REFERENCE))) == expected
    egmd = next(s for s in read_json(ws.path(REFERENCE))["sources"] if s["dataset"] == "egmd")
    assert egmd["manifest"] == "egmd_events" and list(egmd["files"]) == ["egmd_events/index.json"]
    inputs = read_lock(ws, "prod_combined")["artifacts"][REFERENCE]["inputs"]
    assert "data/manifests/egmd_events/index.json" in inputs and "data/manifests/cambridge_events.jsonl" in inputs
    assert check(ws, "prod_combined") == []
    rows = list(events.read(ws.path("data/manifests/egmd_events")))
    rows[-1]["velocity"] = 1
    by_session: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(row)
    folder = ws.path("data/manifests/egmd_events")
    parts.write_parts(folder, "events", "egmd", "session_id", [parts.PartInput(k, v) for k, v in by_session.items()])
    err = failure(ws)
    assert err.path is not None and Path(err.path).parent == folder
    assert "sha256 differs from the one prod_combined_events.json recorded" in err.message


def failure(ws: Workspace) -> DrumgateError:
    with pytest.raises(DrumgateError) as raised:
        list(events.read(ws.path(REFERENCE)))
    return raised.value


def test_a_hand_edited_reference_is_refused(ws: Workspace) -> None:
    combine(ws)
    reference = read_json(ws.path(REFERENCE))
    reference["sources"][1]["ratio"] = 0.5
    write_json(ws.path(REFERENCE), reference)
    err = failure(ws)
    assert str(err).endswith("prod_combined_events.json: differs from what drumgate combine wrote (edited by hand?) "
                             "(fix: drumgate combine)")
    assert err.exit_code == 1


def test_a_source_that_changed_or_went_is_named_with_the_fix(ws: Workspace) -> None:
    combine(ws)
    rows = read_jsonl(ws.events_manifest("musdb_hq"))
    write_jsonl(ws.events_manifest("musdb_hq"), rows[:-1])
    err = failure(ws)
    assert err.path is not None and Path(err.path).name == "musdb_hq_events.jsonl"
    assert "sha256 differs from the one prod_combined_events.json recorded" in err.message
    assert (err.hint, err.exit_code) == ("fix: drumgate combine", 1)
    ws.events_manifest("musdb_hq").unlink()
    err = failure(ws)
    assert "source manifest named by prod_combined_events.json is missing" in str(err)
    assert Path(str(err.path)).name == "musdb_hq_events.jsonl"


def test_the_command_line_reports_a_stale_reference_in_one_line(ws: Workspace, capsys) -> None:
    combine(ws)
    capsys.readouterr()
    write_jsonl(ws.events_manifest("egmd"), read_jsonl(ws.events_manifest("egmd"))[:-1])
    code = cli.main(["health", "--workspace", str(ws.root), "--events", str(ws.path(REFERENCE)), "--dataset",
                     "prod_combined",
                     "--output", str(ws.root / "scratch.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (1, 2) and len(err) == 1 and "Traceback" not in err[0]
    assert "egmd_events.jsonl: sha256 differs" in err[0] and err[0].endswith("(fix: drumgate combine)")


def test_an_old_copied_manifest_is_migrated_by_combine(ws: Workspace, capsys) -> None:
    write_jsonl(ws.path(COPIED), copied_rows(ws))
    assert cli.main(["migrate", "--workspace", str(ws.root), str(ws.path(COPIED))]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"{COPIED}: the combined manifest is now {REFERENCE}, a reference to its sources' rows "
                   "(drumgate combine writes it and removes this copy) (fix: drumgate combine)")
    combine(ws)
    assert not ws.path(COPIED).exists() and ws.path(REFERENCE).is_file()
    assert f"removed {COPIED}" in capsys.readouterr().out
    assert COPIED not in read_lock(ws, "prod_combined")["artifacts"]


def test_the_schema_hook_checks_the_reference(ws: Workspace, capsys) -> None:
    combine(ws)
    hook = ["hook", "schema", "--workspace", str(ws.root), str(ws.path(REFERENCE))]
    assert cli.main(hook) == 0
    document = json.loads(ws.path(REFERENCE).read_text())
    document["sources"][0]["files"] = {}
    ws.path(REFERENCE).write_text(json.dumps(document))
    capsys.readouterr()
    assert cli.main(hook) == 1
    assert f"{REFERENCE}: $.sources[0].files" in capsys.readouterr().err
    assert combined_reference.SCHEMA == "combined_reference"


@pytest.mark.parametrize("partitioned", [False, True])
def test_pr_report_rebuilds_the_combined_rows_at_a_revision(ws: Workspace, partitioned: bool) -> None:
    """`pr-report` reads the reference and its sources (a file, or a folder's parts one row per
    render-hit) as git holds them at a revision."""
    import subprocess

    from drumgate.github.git_tree import GitTree
    from drumgate.github.pr_sides import RowErrors, side_event_rows

    if partitioned:
        assert cli.main(["migrate", "--workspace", str(ws.root), str(ws.events_manifest("egmd"))]) == 0
    combine(ws)
    for argv in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.invalid",
                                                 "commit", "-q", "-m", "combined"]):
        subprocess.run(["git", *argv], cwd=ws.root, check=True, capture_output=True)
    expected = list(events.iter_rows(ws.path(REFERENCE)))
    write_jsonl(ws.events_manifest("musdb_hq"), [])  # the worktree moves on; the revision does not
    errors = RowErrors()
    assert list(side_event_rows(GitTree(ws), "HEAD", REFERENCE, f"HEAD:{REFERENCE}", errors)) == expected
    assert errors.count == 0

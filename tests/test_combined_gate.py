"""The combined gate judges its sources (issue 16): a mixed dataset that fails its own gates fails
`prod_combined` unless `[combined] waive_source_gates` names it, and the waiver is shown; audio
hours and missing audio are gated on the combined manifest like on its sources."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.artifacts import combined_reference
from drumgate.github import pr_sections, pr_text
from drumgate.io.jsonio import read_json, read_jsonl, write_jsonl
from drumgate.render.html_report import render_health_html
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.workspace import Workspace
from tests.combine_fixtures import build_dataset, session_row, three_dataset_workspace

DATE = "2025-03-02"
REPORT = "reports/health/prod_combined_health_20250302.json"
ALIGNED = [("Atlantis Bound - It Was My Fault For Waiting", "train"), ("Leaf - Summerghost", "test")]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """Three datasets whose splits agree; only egmd fails its own gates (too few events, no rimshot)."""
    workspace = three_dataset_workspace(tmp_path / "ws")
    build_dataset(workspace, "musdb_hq", placed=ALIGNED)
    return workspace


def run(ws: Workspace) -> int:
    return cli.main(["combine", "--workspace", str(ws.root), "--date", DATE])


def set_combined(ws: Workspace, line: str) -> None:
    path = ws.configs / "datasets.toml"
    text = path.read_text(encoding="utf-8").replace("[combined]\n", f"[combined]\n{line}\n", 1)
    path.write_text(text, encoding="utf-8")
    tomllib.loads(text)


def own_failures(ws: Workspace, dataset: str) -> list[str]:
    rows = read_jsonl(ws.events_manifest(dataset))
    sessions = read_jsonl(ws.sessions_manifest(dataset))
    report = compute_health(load_health_config(ws, dataset), enumerate(rows, 1), sessions)
    return [gate["name"] for gate in report["gates"] if gate["status"] == "fail"]


def test_a_mixed_source_that_fails_its_own_gates_fails_the_combined_gate(ws: Workspace, capsys) -> None:
    failing = own_failures(ws, "egmd")
    assert failing and own_failures(ws, "cambridge") == [] and own_failures(ws, "musdb_hq") == []
    assert run(ws) == 1
    report = read_json(ws.root / REPORT)
    source_gates = {g["name"]: g for g in report["gates"] if g["name"].startswith("source_gates[")}
    assert source_gates["source_gates[egmd]"] == {
        "name": "source_gates[egmd]", "status": "fail", "observed": len(failing), "threshold": 0,
    }
    assert {g["status"] for name, g in source_gates.items() if name != "source_gates[egmd]"} == {"pass"}
    assert report["sources"]["egmd"] == {"status": "fail", "failing": failing, "waived": False}
    assert report["status"] == "fail"
    err = capsys.readouterr().err
    assert f"prod_combined mixes egmd, which fails its own gates ({', '.join(failing)})" in err
    assert 'waive_source_gates = ["egmd"] under [combined]' in err


def test_the_waiver_passes_the_gate_and_is_shown(ws: Workspace, capsys) -> None:
    set_combined(ws, 'waive_source_gates = ["egmd"]')
    assert run(ws) == 0
    out = capsys.readouterr().out
    failing = own_failures(ws, "egmd")
    assert f"source gates waived in [combined] waive_source_gates: egmd ({', '.join(failing)})" in out
    report = read_json(ws.root / REPORT)
    gate = next(g for g in report["gates"] if g["name"] == "source_gates[egmd]")
    assert (gate["status"], gate["waived"], gate["observed"]) == ("pass", True, len(failing))
    assert report["sources"]["egmd"]["waived"] is True and report["status"] == "pass"
    page = render_health_html(report)
    assert "PASS (waived)" in page and "waived in [combined] waive_source_gates" in page
    entry = {"dataset": "prod_combined", "sources": [
        {"dataset": "egmd", "failing": failing, "failing_count": len(failing), "waived": True}]}
    [callout] = pr_sections.waiver_callouts(entry)
    assert "waive_source_gates" in callout and pr_text.code(failing[0]) in callout


def test_only_midi_without_audio_fails_on_hours_and_missing_audio(tmp_path: Path, capsys) -> None:
    """The issue's repository: only E-GMD, every render's audio missing, 0 hours."""
    ws = three_dataset_workspace(tmp_path / "ws")
    for dataset in ("cambridge", "musdb_hq"):
        ws.events_manifest(dataset).unlink()
    sessions = read_jsonl(ws.sessions_manifest("egmd"))
    for row in sessions:
        row.update(status="missing_audio", seconds=0.0)
        for item in row["files"]:
            item.update(status="missing_audio", format=None)
    write_jsonl(ws.sessions_manifest("egmd"), sessions)
    set_combined(ws, 'waive_source_gates = ["egmd"]')
    assert run(ws) == 1
    report = read_json(ws.root / REPORT)
    failed = {g["name"]: g["observed"] for g in report["gates"] if g["status"] == "fail"}
    assert failed["min_hours"] == 0 and failed["max_missing_audio_fraction"] == 1.0
    assert report["totals"]["hours"] == 0 and report["storage"]["items"]["by_status"] == {"missing_audio": 2}
    assert "max_missing_audio_fraction" in report["sources"]["egmd"]["failing"], "egmd fails it too"


def test_a_waiver_naming_no_dataset_is_one_line(ws: Workspace, capsys) -> None:
    set_combined(ws, 'waive_source_gates = ["egmdd"]')
    assert run(ws) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "waive_source_gates names 'egmdd', which is not a dataset" in err
    assert "Traceback" not in err and not ws.path(combined_reference()).exists(), "refused before writing"


@pytest.mark.parametrize("waived", [False, True])
def test_a_mixed_dataset_without_events_fails_its_source_gate(ws: Workspace, capsys, waived: bool) -> None:
    """combine printed `gates 10/10 pass -> PASS` (and wrote a passing report the docs showed) for a
    production manifest made without a dataset the mix gives a share; only a stderr line said so."""
    set_combined(ws, 'waive_source_gates = ["egmd", "musdb_hq"]' if waived else 'waive_source_gates = ["egmd"]')
    ws.events_manifest("musdb_hq").unlink()
    assert run(ws) == 1
    captured = capsys.readouterr()
    report = read_json(ws.root / REPORT)
    gate = next(g for g in report["gates"] if g["name"] == "source_gates[musdb_hq]")
    assert gate == {"name": "source_gates[musdb_hq]", "status": "fail", "observed": 1, "threshold": 0}
    assert report["sources"]["musdb_hq"] == {"status": "fail", "failing": ["no events manifest"], "waived": False}
    assert report["status"] == "fail" and "-> FAIL" in captured.out
    assert len([line for line in captured.err.splitlines() if "musdb_hq" in line]) == 1, captured.err  # its own fix
    assert "musdb_hq has no events manifest: prod_combined is made without it (fix: drumgate ingest musdb_hq" \
        in captured.err


def test_a_song_an_evaluation_set_holds_out_is_a_leak_when_production_trains_on_it(ws: Workspace) -> None:
    """MDB Drums is ingested "for health and leakage checks, never mixed"; MUSDB's train split has 12 of
    its Music Delta songs. combine's leakage gate compared only the mixed datasets, so a song the
    evaluation set tests on went into production training with `leakage: observed 0, pass`."""
    build_dataset(ws, "musdb_hq", placed=[*ALIGNED, ("Music Delta - 80s Rock", "train")])
    held_out = session_row(
        "mdb_drums", "MusicDelta_80sRock", "test") | {"attributes": {"song_key": "musicdelta80srock"}}
    in_train = session_row("mdb_drums", "MusicDelta_Beatles", "train") | {"attributes": {"song_key": "leafsummerghost"}}
    write_jsonl(ws.sessions_manifest("mdb_drums"), [held_out, in_train])
    assert run(ws) == 1
    report = read_json(ws.root / REPORT)
    assert report["leakage"] == [{"kind": "song", "key": "musicdelta80srock", "splits": ["test", "train"],
                                  "sources": ["mdb_drums:test", "musdb_hq:train"]}], "a left-out train split is no leak"
    assert next(g for g in report["gates"] if g["name"] == "leakage")["status"] == "fail"
    lock = read_json(ws.root / "data" / "locks" / "prod_combined.lock.json")
    assert "data/manifests/mdb_drums_sessions.jsonl" in lock["artifacts"][REPORT]["inputs"], "a change re-judges it"


def test_an_evaluation_set_ingested_after_combine_stales_the_combined_reports(ws: Workspace) -> None:
    """combine reads the sessions of the datasets it does not mix; one that appears after it ran is an
    input it would read now, so the lock check (the freshness hook, repro's plan) calls its reports stale."""
    from drumgate.lineage import check

    assert run(ws) == 1  # egmd fails its own gates
    assert check(ws, "prod_combined") == []
    held_out = session_row("mdb_drums", "MusicDelta_80sRock", "test") | {"attributes": {"song_key": "x"}}
    write_jsonl(ws.sessions_manifest("mdb_drums"), [held_out])
    stale = {(problem.artifact, problem.message) for problem in check(ws, "prod_combined")}
    new = "stale: input data/manifests/mdb_drums_sessions.jsonl was not read when it was made"
    assert {message for _, message in stale} == {new} and len(stale) == 5, stale  # weights: dated and undated
    assert run(ws) == 1
    assert check(ws, "prod_combined") == [], "combine run again lists it in every entry"


def test_a_held_out_row_the_sessions_schema_refuses_is_passed_over_not_an_internal_error() -> None:
    """A `split` written as a list made combine and pr-report exit 3 (an unhashable set lookup)."""
    from drumgate.reports.combined import held_out_song_splits

    rows = [{"split": ["test"], "attributes": {"song_key": "a"}}, {"split": "test", "attributes": {"song_key": ["b"]}},
            ["not", "a", "row"], {"split": "test", "attributes": {"song_key": "c"}}]
    assert held_out_song_splits("mdb_drums", rows) == {"c": {"mdb_drums": {"test"}}}


UNKEYED_NOTE = ("note: data/manifests/mdb_drums_sessions.jsonl: held-out (test/validation) sessions without "
                "attributes.song_key: 2 of 3; prod_combined's leakage gate could not check them for songs the "
                "production manifest trains on (fix: ")


def test_held_out_sessions_without_a_song_key_are_named_as_not_checked(ws: Workspace, capsys) -> None:
    """A held-out session with no `attributes.song_key` was passed over by the song leak check with no
    word: combine said `leakage: pass` though it compared nothing for it."""
    build_dataset(ws, "musdb_hq", placed=[*ALIGNED, ("Music Delta - 80s Rock", "train")])
    keyed = session_row("mdb_drums", "MusicDelta_Rock", "test") | {"attributes": {"song_key": "musicdeltarock"}}
    unkeyed = [session_row("mdb_drums", "MusicDelta_80sRock", "test"),
               session_row("mdb_drums", "MusicDelta_Beatles", "validation") | {"attributes": {"annotation": "x"}}]
    in_train = session_row("mdb_drums", "MusicDelta_Punk", "train")  # a left-out train split is not read
    write_jsonl(ws.sessions_manifest("mdb_drums"), [keyed, *unkeyed, in_train])
    assert cli.main(["combine", "--workspace", str(ws.root), "--date", DATE, "--json"]) == 1, "egmd fails, as before"
    captured = capsys.readouterr()
    [note] = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert note.startswith(UNKEYED_NOTE) and "rerun drumgate combine)" in note, note
    report = read_json(ws.root / REPORT)
    assert next(g for g in report["gates"] if g["name"] == "leakage") == {
        "name": "leakage", "status": "pass", "observed": 0, "threshold": 0}, "a note, not a finding"
    unchecked = [{"dataset": "mdb_drums", "sessions": "data/manifests/mdb_drums_sessions.jsonl", "held_out_sessions": 3,
                  "without_song_key": 2}]
    assert json.loads(captured.out[captured.out.index("{"):])["unchecked_held_out"] == unchecked
    assert report["unchecked_held_out"] == unchecked, "the combined report says it too"


def test_held_out_sessions_that_declare_their_songs_get_no_note(ws: Workspace, capsys) -> None:
    held_out = session_row("mdb_drums", "MusicDelta_Rock", "test") | {"attributes": {"song_key": "musicdeltarock"}}
    write_jsonl(ws.sessions_manifest("mdb_drums"), [held_out, session_row("mdb_drums", "MusicDelta_Punk", "train")])
    assert run(ws) == 1  # egmd fails its own gates
    err = capsys.readouterr().err
    assert "note:" not in err and "song_key" not in err, err
    assert "unchecked_held_out" not in read_json(ws.root / REPORT)


def test_a_held_out_session_without_a_song_key_is_counted_whatever_else_its_row_holds() -> None:
    from drumgate.reports.combined import unchecked_held_out

    rows = [{"split": "test"}, {"split": "validation", "attributes": {"song_key": ""}},
            {"split": "test", "attributes": ["not", "a", "mapping"]},
            {"split": "test", "attributes": {"song_key": "a"}}, {"split": "train"}, {"split": ["test"]}, ["x"]]
    assert unchecked_held_out("custom", "custom.jsonl", rows) == {
        "dataset": "custom", "sessions": "custom.jsonl", "held_out_sessions": 4, "without_song_key": 3}
    assert unchecked_held_out("custom", "custom.jsonl", rows[3:]) is None, "every held-out session declares its song"

"""`drumgate ingest egmd` end to end on generated E-GMD and GMD trees."""

from __future__ import annotations

import json
import runpy
import shutil
import sys
from pathlib import Path

import jsonschema
import pytest

from drumgate import cli
from drumgate.fixtures.egmd import make_egmd_corpus, write_gmd_tree
from drumgate.io.jsonio import read_jsonl

ARTIFACTS = ("data/manifests/egmd_events.jsonl", "data/manifests/egmd_sessions.jsonl",
             "data/provenance/egmd_provenance.jsonl")


@pytest.fixture
def corpus(workspace):
    return make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=4, kits=2)


def ingest(*extra: str) -> int:
    return cli.main(["ingest", "egmd", "--jobs", "1", *extra])


def snapshot(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in ARTIFACTS}


def validate(workspace, name: str, schema: str) -> None:
    validator = jsonschema.Draft202012Validator(json.loads((workspace.schemas / schema).read_text()))
    for row in read_jsonl(workspace.root / name):
        validator.validate(row)


def test_ingest_writes_schema_valid_artifacts(workspace, corpus, capsys) -> None:
    assert ingest() == 0
    out = capsys.readouterr().out
    assert "egmd: 4 items, 4 sessions" in out and "events per class:" in out
    assert "metadata\tegmd CSV: 8 rows, 8 renders ingested, 0 excluded, MIDI hours" in out
    validate(workspace, ARTIFACTS[0], "events.schema.json")
    validate(workspace, ARTIFACTS[1], "sessions.schema.json")
    validate(workspace, ARTIFACTS[2], "provenance.schema.json")
    events = read_jsonl(workspace.root / ARTIFACTS[0])
    expected = sum(sum(p.note_counts().values()) for p in corpus.performances) * 2
    assert len(events) == expected
    sessions = read_jsonl(workspace.root / ARTIFACTS[1])
    assert [s["session_id"] for s in sessions] == sorted(p.performance_id for p in corpus.performances)
    assert all(len(s["files"]) == 2 and s["status"] == "ok" for s in sessions)
    assert {f["format"]["channels"] for s in sessions for f in s["files"]} == {1}
    provenance = read_jsonl(workspace.root / ARTIFACTS[2])
    assert len(provenance) == 8
    assert provenance[0]["licence"]["licence"] == "CC BY 4.0"
    assert set(provenance[0]["config_hashes"]) == {"technique_taxonomy.json", "crash_dual_label.json",
                                                    "roland_note_map.json"}
    lock = json.loads((workspace.root / "data/locks/egmd.lock.json").read_text())
    assert set(ARTIFACTS) <= set(lock["artifacts"])
    assert lock["artifacts"][ARTIFACTS[0]]["command"].startswith("drumgate ingest egmd --output")


def test_second_run_changes_no_byte(workspace, corpus) -> None:
    assert ingest() == 0
    first = snapshot(workspace.root)
    lock = (workspace.root / "data/locks/egmd.lock.json").read_bytes()
    assert ingest() == 0
    assert snapshot(workspace.root) == first
    assert (workspace.root / "data/locks/egmd.lock.json").read_bytes() == lock


def test_parallel_run_equals_serial(workspace, corpus) -> None:
    assert ingest() == 0
    serial = snapshot(workspace.root)
    assert cli.main(["ingest", "egmd", "--jobs", "2"]) == 0
    assert snapshot(workspace.root) == serial


def test_shards_merge_into_the_single_run(workspace, corpus, capsys) -> None:
    assert ingest() == 0
    single = snapshot(workspace.root)
    lock_single = json.loads((workspace.root / "data/locks/egmd.lock.json").read_text())
    for name in ARTIFACTS:
        (workspace.root / name).unlink()
    shards = []
    for index in (1, 2, 3):
        assert ingest("--shard", f"{index}/3") == 0
    for name in ARTIFACTS:
        stem, ext = name.split(".", 1)
        shards += [f"{stem}.shard-{i}-of-3.{ext}" for i in (3, 1, 2)]
    assert cli.main(["merge", *shards]) == 0
    assert snapshot(workspace.root) == single
    lock = json.loads((workspace.root / "data/locks/egmd.lock.json").read_text())
    assert lock["artifacts"] == lock_single["artifacts"]


def test_merge_refuses_an_incomplete_set(workspace, corpus, capsys) -> None:
    assert ingest("--shard", "1/2") == 0
    assert cli.main(["merge", "data/manifests/egmd_events.shard-1-of-2.jsonl"]) == 2
    assert "incomplete shard set" in capsys.readouterr().err


def test_merge_refuses_a_shard_emptied_since_its_ingest(workspace, corpus, capsys) -> None:
    """A shard emptied to 0 bytes merged silently into half a manifest: its sidecar pins its sha256."""
    for index in (1, 2):
        assert ingest("--shard", f"{index}/2") == 0
    shards = [f"data/manifests/egmd_events.shard-{i}-of-2.jsonl" for i in (1, 2)]
    (workspace.root / shards[1]).write_bytes(b"")
    assert cli.main(["merge", *shards]) == 2
    err = capsys.readouterr().err.strip()
    fix = err.split("(fix: drumgate ", 1)[1].rstrip(")")
    assert cli.main(fix.split()) == 0 and cli.main(["merge", *shards]) == 0  # the fix as printed, then merge
    assert err.startswith(f"{shards[1]}: changed since its ingest wrote it")
    assert "(fix: drumgate ingest egmd " in err and "--shard 2/2" in err, err
    assert len((workspace.root / "data/manifests/egmd_events.jsonl").read_text().splitlines()) > 0


def test_bad_rows_are_excluded_one_line_each(workspace, corpus, capsys) -> None:
    root = corpus.root
    rows = corpus.csv_path.read_text().splitlines()
    (root / corpus.rows[0]["midi_filename"]).write_bytes(b"garbage, not midi")
    (root / corpus.rows[2]["midi_filename"]).unlink()
    rows.append(rows[4])
    bad_split = rows[5]
    for split in ("train", "validation", "test"):
        bad_split = bad_split.replace(f",{split},", ",holdout,")
    rows.append(bad_split)
    corpus.csv_path.write_text("\n".join(rows) + "\n")
    assert ingest() == 1
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith("warning:")]
    # a render's file by its full path (the CSV names it inside the root), with the way back
    raw_fix = "(fix: copy it again from the download, then drumgate repro egmd)"
    assert any(line.startswith(f"{root / corpus.rows[0]['midi_filename']}: not a MIDI file") and line.endswith(raw_fix)
               for line in lines), lines
    absent_fix = (raw_fix[:-1] + "; for a copy that holds only part of the corpus, set partial_copy = true under"
                  " [datasets.egmd] in configs/datasets.toml)")
    assert f"{root / corpus.rows[2]['midi_filename']}: MIDI file not found {absent_fix}" in lines
    assert any("duplicate row for" in line for line in lines)
    assert any("split 'holdout'" in line for line in lines)
    assert len(lines) == 4
    assert "4 excluded" in captured.out
    items = {r["item_id"] for r in read_jsonl(workspace.root / ARTIFACTS[0])}
    assert len(items) == 6
    # the damaged MIDI's render stays listed, unreadable and without events: never dropped unseen
    damaged = corpus.rows[0]
    sessions = {s["session_id"]: s for s in read_jsonl(workspace.root / ARTIFACTS[1])}
    entry = next(f for f in sessions[damaged["id"]]["files"] if f["midi"] == damaged["midi_filename"])
    assert (entry["status"], entry["events"], sessions[damaged["id"]]["status"]) == ("unreadable", 0, "unreadable")


def test_missing_audio_and_split_disagreement_are_warnings(workspace, corpus, capsys) -> None:
    (corpus.root / corpus.rows[1]["audio_filename"]).unlink()
    text = corpus.csv_path.read_text()
    original = corpus.rows[0]
    other_split = "test" if original["split"] != "test" else "train"
    line = next(x for x in text.splitlines() if original["midi_filename"] in x)
    corpus.csv_path.write_text(text.replace(line, line.replace(f",{original['split']},", f",{other_split},")))
    assert ingest() == 0
    err = capsys.readouterr().err
    assert "audio file not found" in err and "renders disagree on split" in err
    sessions = {s["session_id"]: s for s in read_jsonl(workspace.root / ARTIFACTS[1])}
    assert sessions[original["id"]]["status"] == "missing_audio"


def test_gmd_crlf_tree_is_detected(workspace, tmp_path, capsys) -> None:
    tree = write_gmd_tree(tmp_path / "groove", seed=5, performances=3)
    assert b"\r\n" in tree.csv_path.read_bytes()
    assert cli.main(["ingest", "egmd", "--root", str(tree.root), "--jobs", "1"]) == 0
    assert "metadata\tgmd CSV: 3 rows" in capsys.readouterr().out
    events = read_jsonl(workspace.root / ARTIFACTS[0])
    assert {e["split"] for e in events} == {p.split for p in tree.performances}
    assert all(e["source"]["file"].endswith(".mid") for e in events)


def test_foreign_header_is_refused(workspace, tmp_path, capsys) -> None:
    root = tmp_path / "foreign"
    root.mkdir()
    (root / "info.csv").write_text("title,artist,file\nx,y,z.mid\n")
    assert cli.main(["ingest", "egmd", "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("info.csv:1: foreign CSV header (3 columns: title,artist,file...) "
                        "(expected the E-GMD 12-column or the GMD 11-column header)")
    assert not (workspace.root / ARTIFACTS[0]).exists()


def test_unknown_notes_are_reported_per_file(workspace, tmp_path, capsys) -> None:
    make_egmd_corpus(workspace.root / "data/raw/egmd", seed=2, performances=2, kits=1, audio=False, unknown_note=99)
    assert ingest() == 0
    captured = capsys.readouterr()
    assert "unmapped notes (note 99 x1)" in captured.err
    assert "unknown_notes\tnote 99: 1 (map it in configs/roland_note_map.json)" in captured.out


def test_python_m_entry_point(workspace, corpus, monkeypatch) -> None:
    argv = ["--jobs", "1", "--output", "out/events.jsonl", "--provenance", "out/prov.jsonl", "--sessions",
            "out/sessions.jsonl"]
    monkeypatch.setattr(sys, "argv", ["python -m ingest.egmd", *argv])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("ingest.egmd", run_name="__main__")
    assert exited.value.code == 0
    assert (workspace.root / "out/events.jsonl").stat().st_size > 0
    shutil.rmtree(workspace.root / "out")


def test_thousands_of_findings_print_twenty_and_a_count(workspace, corpus, capsys) -> None:
    """A corpus missing a folder names every render: the terminal gets the first 20, --json all."""
    rows = corpus.csv_path.read_text().splitlines()
    header, first = rows[0], rows[1]
    missing = [first.replace(corpus.rows[0]["midi_filename"], f"gone/take_{n}.mid") for n in range(30)]
    corpus.csv_path.write_text("\n".join([header, *rows[1:], *missing]) + "\n")
    assert ingest() == 1
    err = capsys.readouterr().err.splitlines()
    findings = [line for line in err if not line.startswith("warning:")]
    assert len(findings) == 21 and findings[-1] == "... and 10 more (all of them with --json)", findings[-3:]
    assert ingest("--json") == 1
    assert len(json.loads(capsys.readouterr().out)["findings"]) == 30


@pytest.mark.parametrize(("flag", "value"), [("--jobs", "0"), ("--jobs", "-1"), ("--duration-tolerance", "nan"),
                                             ("--duration-tolerance", "-1")])
def test_a_meaningless_number_is_a_usage_error(workspace, corpus, capsys, flag: str, value: str) -> None:
    """`--jobs 0` ran as if unset and `--duration-tolerance nan` turned the length check off silently."""
    assert cli.main(["ingest", "egmd", flag, value]) == 2
    assert f"argument {flag}: '{value}' is not" in capsys.readouterr().err
    assert not (workspace.root / ARTIFACTS[0]).exists()


def test_one_finding_is_counted_as_one_finding(workspace, corpus, capsys) -> None:
    (corpus.root / corpus.rows[0]["midi_filename"]).write_bytes(b"garbage, not midi")
    assert ingest() == 1
    summary = capsys.readouterr().out.splitlines()[0]
    assert summary.startswith("egmd: 4 items, 4 sessions") and "; 1 finding, 0 warnings" in summary, summary


def test_a_partial_copy_leaves_absent_midi_out_with_one_count(workspace, corpus, capsys) -> None:
    """A team with part of the corpus (the 54 real Groove MIDI files against the 1,150 rows of GMD's
    info.csv) got a finding per absent file, and every later repro exited 1: its printed fix, copy the
    files again, cannot work for a copy that is partial on purpose."""
    for row in corpus.rows[:3]:
        (corpus.root / row["midi_filename"]).unlink()
    assert ingest() == 1
    assert capsys.readouterr().err.count("set partial_copy = true under [datasets.egmd]") == 3
    config = workspace.configs / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("partition_renders = 10000\n", "partition_renders = 10000\npartial_copy = true\n"),
                      encoding="utf-8")
    assert ingest() == 0
    captured = capsys.readouterr()
    assert "MIDI file not found" not in captured.err
    assert "8 rows, 5 renders ingested, 0 excluded, MIDI hours" in captured.out
    assert "3 not in this partial copy (partial_copy = true)" in captured.out
    assert len({row["item_id"] for row in read_jsonl(workspace.root / ARTIFACTS[0])}) == 5

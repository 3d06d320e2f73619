"""`drumgate repro` clears what the commit hooks block, for reports a user wrote or edited by hand.

In the demo repository (two days committed, report dates in the past): a gate changed in
`configs/datasets.toml` leaves the Cambridge dry-run inventory stale too, and repro re-runs it; the
newest report edited by hand is written again by its own command (its date, its path) instead of
being left behind a new dated report that later diffs read; a report written to a path of its own
(`--html-output reports/health/<ds>.html`) is written again there. Each ends in a commit the
repository's hooks accept.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.data_repo_support import copied_repo, drumgate, git, status

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(demo: Path, tmp_path: Path) -> Path:
    return copied_repo(demo, tmp_path)


def _repro_then_commit(repo: Path) -> str:
    done = drumgate(repo, "repro")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "after repro")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert status(repo) == ""
    return done.stdout


def test_a_gate_change_is_cleared_by_one_repro_dry_run_inventory_included(repo: Path) -> None:
    config = repo / "configs" / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    assert "max_missing_audio_fraction = 0.5" in text
    config.write_text(text.replace("max_missing_audio_fraction = 0.5", "max_missing_audio_fraction = 0.6", 1))
    assert (repo / "data" / "manifests" / "cambridge_sessions_dryrun.jsonl").is_file()
    dates = _ingest_dates(repo)
    out = _repro_then_commit(repo)
    assert "ingest cambridge" in out and "--dry-run" in out
    # the same raw data: each ingest runs once and keeps its day (a changed config hash in provenance
    # once counted as new raw data, ran the ingest again and moved every row to today)
    assert "raw data changed" not in out
    ingests = [line for line in out.splitlines() if line.startswith("$ drumgate ingest ")]
    assert len(ingests) == len(set(ingests))
    assert _ingest_dates(repo) == dates



def test_new_raw_bytes_of_the_same_size_give_the_ingest_todays_date(repo: Path) -> None:
    """A velocity byte changed in one E-GMD MIDI file: the file keeps its size (the fingerprint the E-GMD
    lock records reads sizes only), and its sha256 in provenance moves, so the ingest is dated today."""
    midi = sorted((repo / "data" / "raw" / "egmd").rglob("*.mid*"))[0]
    data = bytearray(midi.read_bytes())
    note_on = data.index(0x99)  # a note-on of the drum channel: status, note, velocity
    data[note_on + 2] = 1 if data[note_on + 2] != 1 else 2
    midi.write_bytes(bytes(data))
    before = _ingest_dates(repo)
    out = _repro_then_commit(repo)
    assert "== ingest: raw data changed: today's ingest date" in out
    after = _ingest_dates(repo)
    assert after["egmd_provenance.jsonl"] != before["egmd_provenance.jsonl"]
    assert {name: dates for name, dates in after.items() if name != "egmd_provenance.jsonl"} == {
        name: dates for name, dates in before.items() if name != "egmd_provenance.jsonl"}

def _ingest_dates(repo: Path) -> dict[str, set[str]]:
    return {path.name: {json.loads(line).get("ingest_date") for line in path.read_text(encoding="utf-8").splitlines()}
            for path in sorted((repo / "data" / "provenance").glob("*_provenance.jsonl"))}


def test_the_newest_report_edited_by_hand_is_written_again_by_its_own_command(repo: Path) -> None:
    edited = repo / "reports" / "health" / "musdb_hq_20260115.json"
    committed = edited.read_bytes()
    report = json.loads(committed)
    report["totals"]["events"] += 1
    edited.write_text(json.dumps(report), encoding="utf-8")
    out = _repro_then_commit(repo)
    assert "reports/health/musdb_hq_20260115.json: differs from what its command wrote" in out
    assert edited.read_bytes() == committed
    assert not list((repo / "reports" / "health").glob("musdb_hq_2026120*.json")), "no new report beside it"


def test_a_report_at_a_path_of_its_own_is_written_again_there(repo: Path) -> None:
    own = drumgate(repo, "health", "--events", "data/manifests/cambridge_events.jsonl",
                   "--html-output", "reports/health/cambridge.html")
    assert own.returncode in (0, 1), own.stderr
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "commit", "-q", "-m", "a page of its own").returncode == 0
    config = repo / "configs" / "datasets.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("min_sessions = 2", "min_sessions = 1", 1))
    page = repo / "reports" / "health" / "cambridge.html"
    before = page.read_bytes()
    _repro_then_commit(repo)
    assert page.read_bytes() != before  # the gate it shows changed


def test_a_dry_run_whose_typed_root_is_gone_does_not_stop_repro(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "cambridge-copy"
    shutil.copytree(repo / "data" / "raw" / "cambridge", elsewhere)
    dry = drumgate(repo, "ingest", "cambridge", "--dry-run", "--root", str(elsewhere))
    assert dry.returncode in (0, 1), dry.stderr
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "commit", "-q", "-m", "a dry run of a copy").returncode == 0
    shutil.rmtree(elsewhere)
    out = _repro_then_commit(repo)  # its inventory is not stale: a preview is not run again
    assert str(elsewhere) not in out


@pytest.mark.parametrize("damage", ["edit", "delete"])
def test_an_older_report_is_taken_back_from_head_not_rebuilt_from_todays_data(repo: Path, damage: str) -> None:
    history = repo / "reports" / "health" / "musdb_hq_20260114.json"  # day one's, superseded by day two's
    committed = history.read_bytes()
    if damage == "edit":
        history.write_text(committed.decode("utf-8").replace('"status"', '"status" ', 1), encoding="utf-8")
    else:
        history.unlink()
    out = _repro_then_commit(repo)
    assert "== restore: reports/health/musdb_hq_20260114.json" in out
    assert history.read_bytes() == committed, "day one's report, not one rebuilt from day two's manifests"


def test_a_deleted_page_of_the_newest_report_is_written_again_in_one_repro(repo: Path) -> None:
    page = repo / "reports" / "health" / "egmd_20260114.html"
    committed = page.read_bytes()
    page.unlink()
    _repro_then_commit(repo)
    assert page.read_bytes() == committed


def test_reports_dated_after_today_are_not_left_stale_by_todays_repro(repo: Path) -> None:
    import datetime

    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    config = repo / "configs" / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("max_missing_audio_fraction = 0.5", "max_missing_audio_fraction = 0.4"))
    ahead = drumgate(repo, "repro", "--date", tomorrow)  # a teammate a timezone ahead
    assert ahead.returncode == 0, ahead.stdout[-3000:] + ahead.stderr[-3000:]
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "commit", "-q", "-m", "tomorrow's reports").returncode == 0
    config.write_text(text.replace("max_missing_audio_fraction = 0.5", "max_missing_audio_fraction = 0.3"))
    out = _repro_then_commit(repo)
    assert "new reports take that date, not today's" in out
    assert drumgate(repo, "repro").returncode == 0 and status(repo) == ""


def test_a_new_dated_report_is_diffed_against_the_one_before_and_the_docs_link_it(repo: Path) -> None:
    """repro wrote new dated reports but no diff, so the summary's "diff vs previous" read "none" for a
    team that lives by repro; now each new health report gets its day-over-day diff, once."""
    config = repo / "configs" / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("max_missing_audio_fraction = 0.5", "max_missing_audio_fraction = 0.6", 1))
    out = _repro_then_commit(repo)
    diffs = [line for line in out.splitlines() if line.startswith("$ drumgate diff --baseline auto ")]
    heads = sorted(Path(line.split()[-1]).name for line in diffs)
    assert heads and len(heads) == len(set(heads)), out
    summaries = sorted((repo / "reports" / "health").glob("*-health-summary.md"))
    newest = summaries[-1].read_text(encoding="utf-8")
    for head in heads:
        dataset, day = head.removesuffix(".json").rsplit("_", 1)
        written = sorted((repo / "reports" / "diffs").glob(f"{dataset}_*_to_{day}.md"))
        assert len(written) == 1, head
        assert f"(../diffs/{written[0].name})" in newest, newest
    again = drumgate(repo, "repro")
    assert again.returncode == 0 and "drumgate diff" not in again.stdout
    assert status(repo) == ""


def test_a_dataset_removed_with_its_files_commits_after_one_repro(repo: Path) -> None:
    """Removing MUSDB (its table, its mix share, its files) stopped repro at the saved compare that
    read its report, and the hook asked for the deleted lock back: the commit could not be made."""
    config = repo / "configs" / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    start = text.index("[datasets.musdb_hq]")
    end = text.index("[datasets.", text.index("[datasets.musdb_hq.gates]") + 1)
    text = text[:start] + text[end:]
    config.write_text(text.replace("musdb_hq = 1.0, ", "").replace(", musdb_hq = 1.0", ""), encoding="utf-8")
    assert "musdb_hq" not in config.read_text(encoding="utf-8")
    tracked = git(repo, "ls-files").stdout.split()
    assert git(repo, "rm", "-q", *[name for name in tracked if "musdb_hq" in name]).returncode == 0
    plan = drumgate(repo, "repro", "--dry-run").stdout  # once each, and as what would happen
    assert plan.count("== forget: reports/diffs/compare_cambridge_vs_musdb_hq.json") == 1, plan
    assert "its lock entry would go" in plan and "its lock entry goes" not in plan, plan
    out = _repro_then_commit(repo)
    assert "== forget: reports/diffs/compare_cambridge_vs_musdb_hq.json" in out
    again = drumgate(repo, "repro")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert status(repo) == ""


def test_a_compare_of_a_removed_dataset_gets_a_fix_that_works_and_the_mix_says_what_it_lacks(repo: Path) -> None:
    """MUSDB's files removed but its saved compare with Cambridge kept: repro stopped at the compare
    (`file not found` for the removed report, with an `ls` as its fix), and combine then made the
    production manifest without MUSDB while `[combined] mix` still gave it a share, saying only
    `left out: musdb_hq (no events manifest)`."""
    tracked = git(repo, "ls-files").stdout.split()
    removed = [name for name in tracked if "musdb_hq" in name and "compare_" not in name and "licenses" not in name]
    assert git(repo, "rm", "-q", *removed).returncode == 0
    stopped = drumgate(repo, "repro")
    assert stopped.returncode == 2, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    compare = "reports/diffs/compare_cambridge_vs_musdb_hq"
    expected = (f"{compare}.json: reads reports/health/musdb_hq_20260115.json, which is gone (a dataset removed?):"
                f" it cannot be made again (fix: git rm -q {compare}.json {compare}.md, then drumgate repro"
                " prod_combined)")
    assert stopped.stderr.strip().endswith(expected), stopped.stderr
    assert git(repo, "rm", "-q", f"{compare}.json", f"{compare}.md").returncode == 0  # the fix as printed
    done = drumgate(repo, "repro")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert ("configs/datasets.toml: [combined] mix gives musdb_hq a share, but musdb_hq has no events manifest:"
            " prod_combined is made without it (fix: drumgate ingest musdb_hq, or take musdb_hq out of [combined]"
            " mix)") in done.stderr, done.stderr
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "MUSDB removed")
    assert commit.returncode == 0, commit.stdout + commit.stderr


def test_a_dataset_ingested_after_combine_ran_without_it_brings_combine_back(repo: Path) -> None:
    """combine left MUSDB out while it had no events (its finding says so), and once MUSDB was ingested
    nothing planned combine again: the combined manifest kept two of the three datasets its mix names."""
    lock_path = repo / "data" / "locks" / "prod_combined.lock.json"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    entry = lock["artifacts"]["data/manifests/prod_combined_events.json"]
    entry["inputs"] = {name: digest for name, digest in entry["inputs"].items() if "musdb_hq" not in name}
    lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    plan = drumgate(repo, "repro", "--dry-run")
    assert "drumgate combine --date " in plan.stdout, plan.stdout
    assert "# it mixed cambridge, egmd; the mix now takes cambridge, egmd, musdb_hq" in plan.stdout, plan.stdout

"""`drumgate pr-report` when the set of datasets changes: a dataset removed or added by the pull
request, a configured dataset or combined manifest with no data at either side, a mixed source's
change seen through the committed combined reference, and a gate new at head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drumgate import cli
from drumgate.cli import pr_report
from drumgate.fixtures.pr_repo import commit_all, init_repo, write_dataset
from tests import pr_scenario
from tests.data_repo_support import without_dataset

DATE = "2026-01-15"


def run_report(repo: Path, out: Path) -> tuple[dict[str, Any], str]:
    argv = ["--workspace", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--out", str(out)]
    assert pr_report.main(argv) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary, (out / "comment.md").read_text(encoding="utf-8")


def datasets_toml(repo: Path) -> Path:
    return repo / "configs" / "datasets.toml"


def unconfigure(repo: Path, name: str) -> None:
    """configs/datasets.toml without `[datasets.<name>]` (and its subtables) nor its `[combined] mix` share."""
    without_dataset(datasets_toml(repo), name)


def three_datasets(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    write_dataset(repo, "egmd", 2400, 16)
    write_dataset(repo, "musdb_hq", 1200, 8, seed=11)
    write_dataset(repo, "cambridge", 900, 6, seed=5)
    return repo


def musdb_manifests_deleted(tmp_path: Path, unconfigured: bool) -> tuple[dict[str, Any], str]:
    """The report of a head that deletes musdb_hq's manifests, and its config table when `unconfigured`."""
    repo = three_datasets(tmp_path)
    commit_all(repo, "base")
    for manifest in (repo / "data" / "manifests").glob("musdb_hq_*"):
        manifest.unlink()
    if unconfigured:
        unconfigure(repo, "musdb_hq")
    commit_all(repo, "head: musdb_hq dropped")
    return run_report(repo, tmp_path / "out")


def test_a_dataset_removed_at_head_is_a_removal_not_a_regression(tmp_path: Path) -> None:
    """Its table and manifests gone: its gates are named as gone with it, and the verdict lists the removal."""
    summary, text = musdb_manifests_deleted(tmp_path, unconfigured=True)
    musdb = summary["datasets"]["musdb_hq"]
    assert musdb["absent"] == {"base": False, "head": True}
    assert musdb["gates"]["head"] == {"passed": 0, "total": 0} and musdb["gates"]["failing"] == []
    assert len(musdb["gates"]["removed"]) == 9
    assert "| musdb_hq | ✅ 9/9 → — (absent) | 1,200 → 0 " in text
    assert "➖ musdb_hq: removed at head, with its 9 gates: <code>leakage</code>, " in text
    assert "the events manifest is removed at head" not in text and "now fails" not in text
    verdict = text.splitlines()[1]
    assert verdict.startswith("### ✅ Merge-safe: no gate regressed"), verdict
    assert verdict.endswith("; 1 dataset removed: musdb_hq"), verdict


def test_a_dataset_whose_manifests_are_deleted_but_still_configured_regresses(tmp_path: Path) -> None:
    """The config still judges it: the data is lost, not the dataset retired."""
    _, text = musdb_manifests_deleted(tmp_path, unconfigured=False)
    assert "⚠️ musdb_hq: the events manifest is removed at head." in text
    verdict = text.splitlines()[1]
    assert verdict.startswith("### ❌ Not merge-safe: 6 gates regressed: musdb_hq "), verdict
    assert "dataset removed" not in verdict


def test_a_dataset_added_at_head_is_new_not_an_error(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    write_dataset(repo, "egmd", 2400, 16)
    unconfigure(repo, "musdb_hq")
    commit_all(repo, "base: no musdb_hq configured")
    configured = pr_scenario.PROJECT_ROOT / "configs" / "datasets.toml"
    datasets_toml(repo).write_text(configured.read_text(encoding="utf-8"), encoding="utf-8")
    write_dataset(repo, "musdb_hq", 1200, 8, seed=11)
    commit_all(repo, "head: musdb_hq configured and ingested")
    summary, text = run_report(repo, tmp_path / "out")
    assert "error" not in summary["datasets"]["musdb_hq"]
    assert summary["datasets"]["musdb_hq"]["absent"] == {"base": True, "head": False}
    assert "🆕 musdb_hq: new events manifest at head." in text
    assert "could not be computed" not in text and "drumgate-pr-" not in text
    assert text.splitlines()[1].startswith("### ✅ Merge-safe"), text.splitlines()[1]


def test_a_dataset_configured_at_head_without_data_is_left_out(tmp_path: Path) -> None:
    """As when MDB Drums was first configured (865d0d2): no events at either side, nothing to report,
    and no error naming the runner's scratch folder."""
    repo = three_datasets(tmp_path)
    unconfigure(repo, "mdb_drums")
    commit_all(repo, "base: no mdb_drums configured")
    datasets_toml(repo).write_text(
        (pr_scenario.PROJECT_ROOT / "configs" / "datasets.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    commit_all(repo, "head: mdb_drums configured, not ingested")
    summary, text = run_report(repo, tmp_path / "out")
    assert summary["configs_changed"] is True
    # only the mdb_drums table changed: the other datasets are not recomputed (the lineage reads the
    # file by table too), and mdb_drums has no events at either side
    assert summary["datasets"] == {}
    assert "mdb_drums" not in text and "prod_combined" not in text
    assert "could not be computed" not in text and "drumgate-pr-" not in text
    assert text.splitlines()[1] == (
        "### ✅ Merge-safe: configs changed, but no dataset group with events is touched")


def test_a_mixed_source_change_shows_the_committed_combined_manifest(tmp_path: Path) -> None:
    repo = three_datasets(tmp_path)
    assert cli.main(["combine", "--workspace", str(repo), "--date", DATE]) in (0, 1)
    assert (repo / "data" / "manifests" / "prod_combined_events.json").is_file()
    commit_all(repo, "base: combined")
    write_dataset(repo, "egmd", 1500, 10)
    commit_all(repo, "head: egmd re-ingested, the combined reference untouched")
    summary, text = run_report(repo, tmp_path / "out")
    assert list(summary["datasets"]) == ["egmd", "prod_combined"]
    combined = summary["datasets"]["prod_combined"]
    assert combined["totals"]["events"] == {"base": 4500, "head": 3600, "delta": -900}
    assert "source_gates&#91;egmd&#93;</code> now fails" in text
    # one cause, named once: the combined gate fails only because egmd's own gate does
    assert "1 gate regressed: egmd <code>split_bounds&#91;train&#93;</code>;" in text.splitlines()[1]
    assert "source_gates" not in text.splitlines()[1]


def test_a_gate_new_at_head_that_fails_is_not_a_regression(tmp_path: Path) -> None:
    repo = three_datasets(tmp_path)
    commit_all(repo, "base")
    path = datasets_toml(repo)
    text = path.read_text(encoding="utf-8")
    gates = "[datasets.musdb_hq.gates]\n"
    path.write_text(text.replace(gates, f"{gates}min_technique_events = {{ rimshot = 100000 }}\n"), encoding="utf-8")
    commit_all(repo, "head: a rimshot gate for musdb_hq")
    summary, comment = run_report(repo, tmp_path / "out")
    [gate] = summary["datasets"]["musdb_hq"]["gates"]["failing"]
    assert (gate["name"], gate["was_status"]) == ("min_technique_events[rimshot]", None)
    verdict = comment.splitlines()[1]
    assert verdict.startswith("### ✅ Merge-safe: no gate regressed; 1 gate failing in new data: musdb_hq "), verdict
    assert "\n❌ musdb_hq: <code>min_technique_events&#91;rimshot&#93;</code> fails: " in comment, "not in bold"


def test_a_side_s_config_error_names_the_revision_not_the_scratch_folder(tmp_path: Path) -> None:
    repo = three_datasets(tmp_path)
    commit_all(repo, "base")
    path = datasets_toml(repo)
    path.write_text(
        path.read_text(encoding="utf-8").replace("{ rimshot = 1 }", "{ rimshot = 1, cowbell_roll = 2 }"),
        encoding="utf-8",
    )
    head = commit_all(repo, "head: a gate naming no technique")
    summary, text = run_report(repo, tmp_path / "out")
    error = summary["datasets"]["egmd"]["error"]
    assert error.startswith(f"{head[:7]}:configs/datasets.toml:"), error
    assert "drumgate-pr-" not in text


def test_a_config_change_with_no_dataset_to_judge_says_so(tmp_path: Path) -> None:
    """A configs change in a repository holding no events (the project's own 865d0d2): the verdict and
    heading say configs changed and nothing could be judged, not that no config changed."""
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    commit_all(repo, "base: configs only")
    config = datasets_toml(repo)
    config.write_text(config.read_text(encoding="utf-8").replace("min_sessions = 2", "min_sessions = 3", 1),
                      encoding="utf-8")
    commit_all(repo, "head: a gate changed")
    summary, text = run_report(repo, tmp_path / "out")
    assert summary["configs_changed"] is True and summary["datasets"] == {}
    lines = text.splitlines()
    assert lines[1] == "### ✅ Merge-safe: configs changed, but no dataset group with events is touched"
    assert lines[3].startswith("Dataset health: configs changed, no dataset to judge")


def test_a_licence_note_edited_below_its_front_matter_touches_no_group(tmp_path: Path) -> None:
    """The lineage reads a note for its front matter: prose below it changes no dataset's health."""
    repo = three_datasets(tmp_path)
    commit_all(repo, "base")
    note = repo / "data" / "licenses" / "cambridge.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nAsk the label before any public release.\n", encoding="utf-8")
    commit_all(repo, "head: a sentence in the cambridge note")
    summary, text = run_report(repo, tmp_path / "out")
    assert summary["datasets"] == {} and summary["configs_changed"] is False
    assert text.splitlines()[1] == "### ✅ Merge-safe: no dataset artifacts or configs changed"
    note.write_text(note.read_text(encoding="utf-8").replace("commercial_use: no", "commercial_use: yes"),
                    encoding="utf-8")
    commit_all(repo, "head: the cambridge terms")
    summary, _ = run_report(repo, tmp_path / "terms")
    assert "cambridge" in summary["datasets"]


def test_a_renamed_licence_note_is_read_where_the_config_points(tmp_path: Path) -> None:
    """pr-report read `data/licenses/<ds>.md` whatever `licence_note` said: a renamed note showed as
    missing at head, and the combined manifest's constraints as changed."""
    repo = three_datasets(tmp_path)
    commit_all(repo, "base")
    notes = repo / "data" / "licenses"
    (notes / "egmd.md").rename(notes / "egmd_v1.md")
    config = datasets_toml(repo)
    config.write_text(config.read_text(encoding="utf-8").replace("data/licenses/egmd.md", "data/licenses/egmd_v1.md"),
                      encoding="utf-8")
    commit_all(repo, "head: the egmd note renamed")
    summary, text = run_report(repo, tmp_path / "out")
    assert "egmd" in summary["datasets"], "its table changed"
    assert "missing at head" not in text and "licence constraints changed" not in text, text


def _provenance(repo: Path, dataset: str, shared: bool) -> None:
    """A provenance row per session, each naming its source file's sha256; with `shared`, the test
    session's file is the first train session's (the same audio under two ids)."""
    from drumgate.fixtures.health_events import session_rows
    from drumgate.io.jsonio import write_jsonl

    sessions = [row["session_id"] for row in session_rows(6, seed=5, dataset=dataset)]
    digests = {sid: f"{index + 1:064x}" for index, sid in enumerate(sessions)}
    if shared:
        digests[sessions[-1]] = digests[sessions[0]]
    write_jsonl(repo / "data" / "provenance" / f"{dataset}_provenance.jsonl",
                [{"session_id": sid, "source_files": [{"path": f"{sid}.wav", "sha256": digests[sid]}]}
                 for sid in sessions])


def test_the_same_audio_under_two_sessions_across_splits_is_a_leak(tmp_path: Path) -> None:
    """pr-report judged leakage without the provenance's source hashes: a copied session moved to the test
    split read as merge-safe while `drumgate health` on the same head fails its leakage gate."""
    repo = three_datasets(tmp_path)
    _provenance(repo, "cambridge", shared=False)
    commit_all(repo, "base")
    _provenance(repo, "cambridge", shared=True)
    commit_all(repo, "head: a test session holds a train session's audio")
    summary, text = run_report(repo, tmp_path / "out")
    assert summary["datasets"]["cambridge"]["leakage_added"]["count"] >= 1
    assert text.splitlines()[1].startswith("### ❌ Not merge-safe"), text.splitlines()[1]


def test_a_gate_moved_or_removed_by_the_config_says_so(tmp_path: Path) -> None:
    """A raised threshold read as if the data had changed ("now fails: 30 < 40 (was 30)"), and a gate
    deleted from the config disappeared from the comment without a word."""
    repo = three_datasets(tmp_path)
    commit_all(repo, "base")
    config = datasets_toml(repo)
    text = config.read_text(encoding="utf-8")
    cambridge = "min_class_events = { kick = 20, snare = 20, hihat = 20 }"  # the first table: cambridge's
    assert text.index(cambridge) < text.index("[datasets.musdb_hq]")
    config.write_text(text.replace(cambridge, "min_class_events = { kick = 1000000, snare = 20 }", 1), encoding="utf-8")
    commit_all(repo, "head: cambridge's kick gate raised, its hihat gate dropped")
    summary, comment = run_report(repo, tmp_path / "out")
    gates = summary["datasets"]["cambridge"]["gates"]
    assert gates["removed"] == ["min_class_events[hihat]"]
    [raised] = [gate for gate in gates["failing"] if gate["name"] == "min_class_events[kick]"]
    assert (raised["threshold"], raised["was_threshold"]) == (1000000, 20)
    assert "against 20: the threshold changed)." in comment, comment
    assert "➖ cambridge: 1 gate no longer judged at head: <code>min_class_events&#91;hihat&#93;</code>." in comment


def test_a_session_moved_to_another_split_is_in_the_digest(tmp_path: Path) -> None:
    """The move showed only inside the collapsed details, while the digest read "class shares unchanged"."""
    repo = three_datasets(tmp_path)
    commit_all(repo, "base")
    moved = "drummer1/session1/1"
    write_dataset(repo, "cambridge", 900, 6, seed=5,
                  edit=lambda rows: ({**row, "split": "test"} if row["session_id"] == moved else row for row in rows))
    commit_all(repo, "head: one cambridge session moved to test")
    summary, text = run_report(repo, tmp_path / "out")
    assert summary["datasets"]["cambridge"]["sessions"]["split_changed"]["count"] == 1
    assert "- **cambridge**: 1 session moved to another split; " in text, text


def test_a_combined_manifest_mixing_a_removed_source_says_so(demo: Path, tmp_path: Path) -> None:
    """E-GMD's manifests deleted (committed past the hooks): the combined group names the source it
    mixes that is gone, with its fix, instead of git's words about a blob; E-GMD's regressions stay
    in the verdict beside it."""
    from tests.data_repo_support import copied_repo, git

    repo = copied_repo(demo, tmp_path)
    manifests = ["data/manifests/egmd_events.jsonl", "data/manifests/egmd_sessions.jsonl"]
    assert git(repo, "rm", "-q", *manifests).returncode == 0
    assert git(repo, "commit", "-q", "--no-verify", "-m", "E-GMD's manifests deleted").returncode == 0
    _, text = run_report(repo, tmp_path / "out")
    head = git(repo, "rev-parse", "--short=7", "HEAD").stdout.strip()
    assert (f"❗ prod_combined: health could not be computed: {head}:data/manifests/prod_combined_events.json: mixes"
            " data/manifests/egmd_events.jsonl, which is not in this revision (its dataset's events were removed,"
            " and the combined manifest was not made again) (fix: drumgate repro prod_combined, then commit its"
            " artifacts)") in text
    verdict = text.splitlines()[1]
    assert verdict.startswith("### ❗ Not merge-safe: health could not be computed for prod_combined; 5 gates"
                              " regressed: egmd "), verdict

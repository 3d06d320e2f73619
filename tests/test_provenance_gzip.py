"""A provenance stored as `<ds>_provenance.jsonl.gz` is read wherever the plain `.jsonl` is.

`combine` found it (`parts.stored`), but pr-report looked for the plain name only and `drumgate
health` found only the plain file or the partitioned folder beside the events: with the `.gz` form
the same audio under a train and a test session was no leak, and the comment read "✅ Merge-safe:
no gate regressed" where the plain provenance's read "❌ Not merge-safe: 1 gate regressed:
cambridge leakage", and disagreed with the committed combined report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drumgate import cli
from drumgate.fixtures.health_events import session_rows
from drumgate.fixtures.pr_repo import commit_all
from drumgate.io.jsonio import read_json, write_jsonl
from drumgate.lineage import read_lock
from drumgate.workspace import COMBINED, Workspace
from tests.test_pr_report_datasets import run_report, three_datasets

PLAIN, GZIP = ".jsonl", ".jsonl.gz"
BASE_DATE, HEAD_DATE = "2026-01-15", "2026-01-16"


def write_provenance(repo: Path, suffix: str, shared: bool) -> None:
    """Cambridge's provenance, one source file per session; with `shared`, the last (test) session
    holds the first (train) session's audio. Any other stored form is removed."""
    sessions = [row["session_id"] for row in session_rows(6, seed=5, dataset="cambridge")]
    digests = {sid: f"{index + 1:064x}" for index, sid in enumerate(sessions)}
    if shared:
        digests[sessions[-1]] = digests[sessions[0]]
    folder = repo / "data" / "provenance"
    for old in folder.glob("cambridge_provenance.*"):
        old.unlink()
    write_jsonl(folder / f"cambridge_provenance{suffix}",
                [{"session_id": sid, "source_files": [{"path": f"{sid}.wav", "sha256": digests[sid]}]}
                 for sid in sessions])


def leaking_pull_request(root: Path, suffix: str) -> tuple[dict[str, Any], str]:
    """A head whose provenance files a train session's audio under a test session: the summary's
    datasets and the comment, each commit's short sha replaced by BASE or HEAD."""
    repo = three_datasets(root)
    write_provenance(repo, suffix, shared=False)
    base = commit_all(repo, "base")
    write_provenance(repo, suffix, shared=True)
    head = commit_all(repo, "head: a test session holds a train session's audio")
    summary, text = run_report(repo, root / "out")
    return summary["datasets"], text.replace(base[:7], "BASE").replace(head[:7], "HEAD")


def test_a_gzip_provenance_gives_the_comment_of_the_plain_one(tmp_path: Path) -> None:
    plain, gzipped = (leaking_pull_request(tmp_path / suffix.strip("."), suffix) for suffix in (PLAIN, GZIP))
    assert plain[0]["cambridge"]["leakage_added"]["count"] == 1
    assert plain[1].splitlines()[1] == "### ❌ Not merge-safe: 1 gate regressed: cambridge <code>leakage</code>"
    assert gzipped == plain


def test_a_gzip_source_provenance_leaks_in_pr_report_as_in_the_committed_combined_report(tmp_path: Path) -> None:
    repo = three_datasets(tmp_path)
    assert cli.main(["combine", "--workspace", str(repo), "--date", BASE_DATE]) in (0, 1)
    commit_all(repo, "base: combined")
    write_provenance(repo, GZIP, shared=True)
    assert cli.main(["combine", "--workspace", str(repo), "--date", HEAD_DATE]) == 1
    commit_all(repo, "head: cambridge's provenance, the combined manifest made again")
    summary, comment = run_report(repo, tmp_path / "out")
    committed = read_json(repo / "reports" / "health" / f"{COMBINED}_health_{HEAD_DATE.replace('-', '')}.json")
    assert "content_hash" in {leak["kind"] for leak in committed["leakage"]}
    head = read_json(tmp_path / "out" / "reports" / f"{COMBINED}_head.json")
    assert head["leakage"] == committed["leakage"] and head["gates"] == committed["gates"]
    assert summary["datasets"]["cambridge"]["leakage_added"]["count"] == 1
    assert f"⚠️ {COMBINED}: new split leakage: " in comment, comment


def test_health_reads_the_gzip_provenance_beside_the_events(tmp_path: Path) -> None:
    repo = three_datasets(tmp_path)
    write_provenance(repo, GZIP, shared=True)
    events = str(repo / "data" / "manifests" / "cambridge_events.jsonl")
    assert cli.main(["health", "--workspace", str(repo), "--events", events, "--date", HEAD_DATE]) == 1
    report = read_json(repo / "reports" / "health" / "cambridge_20260116.json")
    assert [leak["kind"] for leak in report["leakage"]] == ["content_hash"]
    [entry] = [entry for name, entry in read_lock(Workspace(repo), "cambridge")["artifacts"].items()
               if name.endswith(".json")]
    assert "--provenance data/provenance/cambridge_provenance.jsonl.gz" in entry["command"]
    assert "data/provenance/cambridge_provenance.jsonl.gz" in entry["inputs"]

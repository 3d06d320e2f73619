"""A pull request's sides are judged as the committed reports were.

- Weights: pr-report weighted both sides with a fixed `effective` scheme, so a change of scheme read
  "Sampling weights: unchanged." while the weights file the trainer reads had changed.
- Held-out songs: the combined leakage gate also reads the songs an evaluation set holds out, at both
  sides, as combine does.
"""

from __future__ import annotations

from pathlib import Path

from drumgate.fixtures.pr_repo import git
from drumgate.github.pr_text import code
from drumgate.io.jsonio import read_json, write_json, write_jsonl
from drumgate.workspace import COMBINED
from tests.data_repo_support import copied_repo, drumgate


def test_a_scheme_change_shows_as_changed_weights(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    before = read_json(repo / "reports" / "sampling" / "cambridge_weights_20260115.json")
    written = drumgate(repo, "weights", "--events", "data/manifests/cambridge_events.jsonl", "--scheme", "inverse",
                       "--date", "2026-01-20")
    assert written.returncode == 0, written.stdout + written.stderr
    after = read_json(repo / "reports" / "sampling" / "cambridge_weights_20260120.json")
    assert (before["scheme"], after["scheme"]) == ("effective", "inverse") and before["weights"] != after["weights"]
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "Weight Cambridge by inverse frequency")
    out = tmp_path / "pr-report"
    report = drumgate(repo, "pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", str(out))
    assert report.returncode in (0, 1), report.stdout + report.stderr
    head = read_json(out / "reports" / "cambridge_weights_head.json")
    assert head["scheme"] == "inverse" and head["weights"] == after["weights"], "as the committed file says"
    comment = (out / "comment.md").read_text(encoding="utf-8")
    cambridge = comment.split("<summary>cambridge: ", 1)[1].split("</details>", 1)[0]
    assert "Sampling weights: unchanged." not in cambridge and "sampling-weight movers" in cambridge, cambridge
    assert "does not know" not in comment, "a scheme drumgate knows is weighted as committed, with no note"
    combined = comment.split(f"<summary>{COMBINED}: ", 1)[1].split("</details>", 1)[0]
    assert "Sampling weights: unchanged." in combined, "the combined weights were not touched"


def test_a_held_out_song_is_judged_alike_by_combine_and_the_pull_request(demo: Path, tmp_path: Path) -> None:
    """pr-report recomputes the combined gates as combine does: with an evaluation set (not mixed) that
    tests on a song the production manifest trains on, both see the same leak."""
    repo = copied_repo(demo, tmp_path)
    session = {"session_id": "AtlantisBound_Eval", "dataset": "mdb_drums", "tier": "primary", "path": "x.wav",
               "split": "test", "files": [], "status": "ok", "warnings": [], "seconds": 1.0,
               "attributes": {"song_key": "atlantisbounditwasmyfaultforwaiting"}}
    write_jsonl(repo / "data" / "manifests" / "mdb_drums_sessions.jsonl", [session])
    combined = drumgate(repo, "combine", "--date", "2026-01-20")
    assert combined.returncode == 1, combined.stdout + combined.stderr
    committed = read_json(repo / "reports" / "health" / f"{COMBINED}_health_20260120.json")
    assert [leak["sources"] for leak in committed["leakage"]] == [["mdb_drums:test", "musdb_hq:train"]]
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "MDB Drums holds out a song MUSDB trains on")
    out = tmp_path / "pr-report"
    report = drumgate(repo, "pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", str(out))
    assert report.returncode in (0, 1), report.stdout + report.stderr
    head = read_json(out / "reports" / f"{COMBINED}_head.json")
    assert head["leakage"] == committed["leakage"]
    assert head["gates"] == committed["gates"]


def test_a_scheme_drumgate_does_not_know_is_named_in_the_comment(demo: Path, tmp_path: Path) -> None:
    """A committed weights report whose scheme pr-report did not know was weighted under `effective`
    with no word, so a reviewer read weights made under another scheme as the committed ones."""
    repo = copied_repo(demo, tmp_path)
    committed = read_json(repo / "reports" / "sampling" / "cambridge_weights_20260115.json")
    scheme = "focal](https://x.invalid) <b>@team"  # from the pull request: shown escaped, never as Markdown
    write_json(repo / "reports" / "sampling" / "cambridge_weights_20260120.json", committed | {"scheme": scheme})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "Weight Cambridge by a scheme drumgate does not have")
    out = tmp_path / "pr-report"
    report = drumgate(repo, "pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", str(out))
    assert report.returncode in (0, 1), report.stdout + report.stderr
    comment = (out / "comment.md").read_text(encoding="utf-8")
    [line] = [line for line in comment.splitlines() if "does not know" in line]
    assert line.startswith(
        "⚠️ cambridge: the weights report <code>reports/sampling/cambridge_weights_20260120.json</code> at head "
        f"names scheme {code(scheme)}, which drumgate does not know: its weights here were computed under "
        "<code>effective</code> instead."
    ), line
    assert "](" not in line and "<b>" not in line and "@team" not in line
    assert read_json(out / "reports" / "cambridge_weights_head.json")["scheme"] == "effective"
    summary = read_json(out / "summary.json")
    assert summary["datasets"]["cambridge"]["weights_fallback"] == {"base": None, "head": {
        "report": "reports/sampling/cambridge_weights_20260120.json", "scheme": scheme, "used": "effective"}}
    again = drumgate(repo, "pr-report", "--from-summary", str(out / "summary.json"), "--out", str(tmp_path / "trusted"))
    assert again.returncode == 0, again.stdout + again.stderr  # the schema allows it
    assert (tmp_path / "trusted" / "comment.md").read_text(encoding="utf-8") == comment


def test_one_report_both_sides_fell_back_on_is_one_line() -> None:
    from drumgate.github.pr_sections import weights_fallback_callouts

    old = {"report": "reports/sampling/egmd_weights_20260101.json", "scheme": None, "used": "effective"}
    new = old | {"report": "reports/sampling/egmd_weights_20260102.json", "scheme": "focal"}
    [both] = weights_fallback_callouts({"dataset": "egmd", "weights_fallback": {"base": old, "head": old}})
    assert "at base and head names no scheme," in both
    lines = weights_fallback_callouts({"dataset": "egmd", "weights_fallback": {"base": old, "head": new}})
    assert [line.split(" names ")[1].split(",")[0] for line in lines] == ["no scheme", "scheme <code>focal</code>"]
    assert weights_fallback_callouts({"dataset": "egmd", "weights_fallback": {"base": None, "head": None}}) == []

"""`drumgate pr-report`: the rendered comment (snapshot), escaping, the size cap, determinism."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import pytest

from drumgate.cli import pr_report
from drumgate.fixtures.pr_repo import commit_all, init_repo, write_dataset
from drumgate.github.pr_summary import read_summary
from drumgate.github.sticky import COMMENT_LIMIT
from tests import pr_scenario

SNAPSHOT = Path(__file__).parent / "snapshots" / "pr_comment.md"
SHORT_BASE, SHORT_HEAD = "b81e0d4", "3f2a9c1"


def run_report(repo: Path, out: Path, *extra: str, base: str = "HEAD~1", head: str = "HEAD") -> int:
    argv = ["--workspace", str(repo), "--base", base, "--head", head, "--out", str(out), *extra]
    return pr_report.main(argv)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    repo = tmp_path_factory.mktemp("scenario") / "repo"
    base, head = pr_scenario.build(repo)
    return repo, base, head


@pytest.fixture(scope="module")
def rendered(scenario: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo, _, _ = scenario
    out = tmp_path_factory.mktemp("out")
    assert run_report(repo, out, "--repo-url", "https://github.com/acme/drums", "--run-id", "4242") == 0
    return out


def normalised(text: str, base: str, head: str) -> str:
    return text.replace(base[:7], SHORT_BASE).replace(head[:7], SHORT_HEAD)


def test_comment_matches_the_reviewed_snapshot(rendered: Path, scenario: tuple[Path, str, str]) -> None:
    _, base, head = scenario
    text = normalised((rendered / "comment.md").read_text(encoding="utf-8"), base, head)
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), "rerun with UPDATE_SNAPSHOTS=1 after reviewing the change"


def test_comment_says_what_changed(rendered: Path) -> None:
    text = (rendered / "comment.md").read_text(encoding="utf-8")
    assert text.startswith("<!-- drumgate:health-delta -->\n")
    assert "2 dataset groups changed" in text
    assert "| egmd | ✅ 9/9 → ❌ 8/9 |" in text
    assert "**❌ egmd: <code>min_technique_events&#91;rimshot&#93;</code> now fails: 0 < 1** (was" in text
    assert (
        "licence constraints changed: redistribution is now “no (internal training copies only)” (was" in text
    )
    assert (
        "- **egmd**: 2 sessions added; share moves from <code>ride</code> (−51, −2.80 pp) to <code>crash</code> "
        "(+87, +2.68 pp); technique <code>rimshot</code> gone (66 → 0)." in text
    ), "the one-line digest says where class share went and which technique vanished"
    assert "<code>drummer7/session2/17</code> 0.06047 (new)" in text, "weights to 4 significant digits"
    assert "cambridge" not in text.split("<details>")[0], "an unchanged dataset is not reported"
    assert "```mermaid" in text and "<summary>Full deepdiff (egmd," in text
    assert "[<code>drumgate-health</code>](https://github.com/acme/drums/actions/runs/4242)" in text


def test_summary_and_reports_are_written(rendered: Path, scenario: tuple[Path, str, str]) -> None:
    _, base, head = scenario
    summary = json.loads((rendered / "summary.json").read_text(encoding="utf-8"))
    assert (summary["base"], summary["head"], summary["changed"]) == (base, head, True)
    assert sorted(summary["datasets"]) == ["egmd", "musdb_hq"]
    assert read_summary(rendered / "summary.json") == summary, "the trusted reader accepts it as is"
    egmd = summary["datasets"]["egmd"]
    assert egmd["gates"]["base"] == {"passed": 9, "total": 9} and egmd["gates"]["head"] == {"passed": 8, "total": 9}
    assert [g["name"] for g in egmd["gates"]["flipped"]] == ["min_technique_events[rimshot]"]
    assert [g["name"] for g in egmd["gates"]["failing"]] == ["min_technique_events[rimshot]"]
    musdb_licence = summary["datasets"]["musdb_hq"]["licence"]
    assert musdb_licence["base"]["redistribution"] != musdb_licence["head"]["redistribution"]
    for name in ("egmd_head.html", "egmd_head.json", "egmd_base.json", "egmd_diff.json", "musdb_hq_head.html"):
        assert (rendered / "reports" / name).stat().st_size > 0


def test_report_is_deterministic(scenario: tuple[Path, str, str], rendered: Path, tmp_path: Path) -> None:
    repo, _, _ = scenario
    assert run_report(repo, tmp_path, "--repo-url", "https://github.com/acme/drums", "--run-id", "4242") == 0
    for name in ("comment.md", "summary.json", "reports/egmd_diff.json"):
        assert (tmp_path / name).read_bytes() == (rendered / name).read_bytes()


def test_json_flag_prints_the_summary(scenario: tuple[Path, str, str], tmp_path: Path, capsys) -> None:
    repo, _, _ = scenario
    assert run_report(repo, tmp_path, "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))


HOSTILE = [
    "`ls` && echo pwned",
    "<script>alert(1)</script>",
    "a|b|c",
    "${{ secrets.GITHUB_TOKEN }}",
    "@octocat please look",
    "[click](https://evil.invalid)",
    "**bold** _it_ ~~gone~~",
    "line\nbreak",
]


def _hostile(rows):
    for index, row in enumerate(rows):
        if index < len(HOSTILE):
            row["session_id"] = HOSTILE[index]
        yield row


def test_hostile_session_names_are_escaped(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    write_dataset(repo, "egmd", 400, 10)
    commit_all(repo, "base")
    write_dataset(repo, "egmd", 400, 10, edit=_hostile)
    commit_all(repo, "head")
    assert run_report(repo, tmp_path / "out") == 0
    text = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    outside_code = re.sub(r"(`{3,})json\n.*?\n\1", "", text, flags=re.S)
    for raw in ("<script>", "${{", "@octocat", "](https://evil", "`ls`", "**bold**", "a|b"):
        assert raw not in outside_code, raw
    # the one escaper (drumgate.render.textsafe.markdown_text) leaves ( ) ! alone: no `[` survives, so no link forms
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in text
    assert "<code>a&#124;b&#124;c</code>" in text
    for line in outside_code.splitlines():
        if line.startswith("| "):
            assert line.count("|") - line.count("&#124;") * 0 in (6, 7), line


def test_a_dataset_table_change_recomputes_that_dataset_and_a_taxonomy_change_every_one(tmp_path: Path) -> None:
    """Read as the lineage reads `configs/datasets.toml`: E-GMD's gate touches E-GMD's group (and the
    combined one, which holds no events here) and no other; a comment touches none; the taxonomy, which
    every group reads, touches them all."""
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    for name in ("egmd", "musdb_hq", "cambridge"):
        write_dataset(repo, name, 300, 4)
    commit_all(repo, "base")
    datasets_toml = repo / "configs" / "datasets.toml"
    text = datasets_toml.read_text(encoding="utf-8")
    datasets_toml.write_text(
        text.replace("min_technique_events = { rimshot = 1 }", "min_technique_events = { rimshot = 500 }")
        .replace("# Storage roots", "# The storage roots"),
        encoding="utf-8",
    )
    commit_all(repo, "raise the rimshot gate")
    assert run_report(repo, tmp_path / "out") == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["configs_changed"] is True
    # no combined manifest is committed at either side: prod_combined has nothing to report, and
    # listing it showed "absent → absent" with its gates failing on no data
    assert sorted(summary["datasets"]) == ["egmd"]
    flipped = summary["datasets"]["egmd"]["gates"]["flipped"]
    assert [g["name"] for g in flipped] == ["min_technique_events[rimshot]"], "base uses the base configs"
    comment = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    assert "each dataset group the change touches was recomputed" in comment

    datasets_toml.write_text(datasets_toml.read_text(encoding="utf-8").replace("# The storage", "# Storage"),
                             encoding="utf-8")
    commit_all(repo, "a comment only")
    assert run_report(repo, tmp_path / "comment") == 0
    summary = json.loads((tmp_path / "comment" / "summary.json").read_text(encoding="utf-8"))
    assert summary["configs_changed"] is True and summary["datasets"] == {}

    taxonomy = repo / "configs" / "technique_taxonomy.json"
    taxonomy.write_text(taxonomy.read_text(encoding="utf-8").replace('"description": "', '"description": "The ', 1),
                        encoding="utf-8")
    commit_all(repo, "a taxonomy description")
    assert run_report(repo, tmp_path / "taxonomy") == 0
    summary = json.loads((tmp_path / "taxonomy" / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["datasets"]) == ["cambridge", "egmd", "musdb_hq"]


def test_gzip_manifest_added_at_head_is_new(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    commit_all(repo, "base: no data yet")
    write_dataset(repo, "egmd", 600, 6, gzip=True)
    commit_all(repo, "head: first egmd ingest")
    assert run_report(repo, tmp_path / "out") == 0
    text = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    assert "🆕 egmd: new events manifest at head." in text
    assert "| egmd | — (absent) → " in text and "| 0 → 600 (+600, new) | 0 → 6 (+6) |" in text
    assert "still fails" not in text and "(was" not in text


def test_malformed_rows_are_reported_not_fatal(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    write_dataset(repo, "egmd", 300, 4)
    commit_all(repo, "base")
    manifest = repo / "data" / "manifests" / "egmd_events.jsonl"
    with manifest.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    commit_all(repo, "head: a damaged line")
    assert run_report(repo, tmp_path / "out") == 0
    text = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    assert "⚠️ egmd: 1 malformed row at head left out of the counts" in text
    assert "egmd_events.jsonl:301: invalid JSON" in text


@pytest.mark.parametrize(
    ("stored", "said"),
    [
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n", "Git LFS pointer, not the manifest"),
        (gzip.compress(b'{"a": 1}\n' * 50)[:-12], "damaged gzip stream"),
    ],
    ids=["lfs-pointer", "cut-gzip"],
)
def test_a_manifest_blob_that_cannot_be_read_is_that_dataset_s_error(tmp_path: Path, stored: bytes, said: str) -> None:
    """Blobs go through the one line reader (drumgate.io.lines): its whole-file wording, one error line
    for that dataset in the comment, the run still exit 0."""
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    write_dataset(repo, "egmd", 300, 4, gzip=True)
    commit_all(repo, "base")
    (repo / "data" / "manifests" / "egmd_events.jsonl.gz").write_bytes(stored)
    commit_all(repo, "head: an unreadable manifest")
    assert run_report(repo, tmp_path / "out") == 0
    text = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    assert "| egmd | ❗ error |" in text
    [line] = [line for line in text.splitlines() if line.startswith("❗ egmd: health could not be computed:")]
    assert said in line and "egmd_events.jsonl.gz" in line, line


def test_size_cap_drops_details_first_and_says_so(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", pr_scenario.PROJECT_ROOT)
    write_dataset(repo, "egmd", 1200, 120)
    commit_all(repo, "base")
    write_dataset(repo, "egmd", 1200, 120, seed=8)
    commit_all(repo, "head: every session reshuffled")
    assert run_report(repo, tmp_path / "full") == 0
    full = (tmp_path / "full" / "comment.md").read_text(encoding="utf-8")
    assert 6_000 < len(full) <= 65_000 < COMMENT_LIMIT
    assert run_report(repo, tmp_path / "out", "--max-chars", "6000") == 0
    text = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    assert len(text) <= 6_000
    assert "> Left out to stay under GitHub's 65,536-character comment limit" in text
    assert "| egmd |" in text, "the overview survives every cut"

    assert run_report(repo, tmp_path / "tiny", "--max-chars", "2000") == 0
    tiny = (tmp_path / "tiny" / "comment.md").read_text(encoding="utf-8")
    assert len(tiny) <= 2000 and tiny.startswith("<!-- drumgate:health-delta -->")
    assert tiny.count("<details") == tiny.count("</details>")


def test_unknown_revision_is_one_line(scenario: tuple[Path, str, str], tmp_path: Path, capsys) -> None:
    repo, _, _ = scenario
    assert run_report(repo, tmp_path, base="no-such-branch") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown revision 'no-such-branch'" in err
    assert "(fix: pass a branch this repository has (" in err

"""Dataset-controlled strings are inert in the HTML report, the Markdown diff and PR comment and the
logs; paths that escape a dataset root are refused."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.health_events import event_rows, session_rows
from drumgate.fixtures.pr_repo import commit_all, init_repo, write_dataset
from drumgate.io.jsonio import read_jsonl, write_jsonl
from tests.conftest import PROJECT_ROOT
from tests.reliability.support import DATE, TRACEBACK, Run, make_workspace, run_drumgate

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "[click](javascript:alert(1))",
    "`rm -rf /` ``` fence",
    "${{ github.token }}",
    "a|b\n::error title=pwned::owned",
    "\x1b[2Jcleared \r::add-mask::x",
    "<svg onload=alert(1)>@octocat",
]
HTML_MARKERS = ("<script", "<img", "<svg onload")
MARKDOWN_MARKERS = ("<script", "<img", "<svg", "](javascript", "${{", "@octocat")
DANGEROUS_TAGS = {"script", "img", "svg", "iframe", "object", "embed"}


def hostile_rows(rows: list[dict]) -> list[dict]:
    """Put every payload where a dataset puts names: session, item, label, technique, source file."""
    for index, payload in enumerate(HOSTILE):
        row = rows[index * 3]
        row["session_id"] = payload
        row["item_id"] = f"{payload}.wav"
        row["source"] = {"file": payload, "stem": payload}
        rows[index * 3 + 1]["label"] = payload
        rows[index * 3 + 2]["techniques"] = [payload]
    return rows


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def injected_html(page: str, clean_page: str) -> list[str]:
    """Tags and attributes in `page` that a payload opened (the clean page of the same report lacks them)."""
    clean, hostile = TagCollector(), TagCollector()
    clean.feed(clean_page)
    hostile.feed(page)
    allowed = {tag for tag, _ in clean.tags}
    problems = [f"<{tag}>" for tag, _ in hostile.tags if tag in DANGEROUS_TAGS and tag not in allowed]
    for tag, attrs in hostile.tags:
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                problems.append(f"<{tag} {name}={value!r}>")
    return problems


def outside_code(markdown: str) -> str:
    """The Markdown a reader sees rendered: fenced blocks and inline code spans removed."""
    prose = re.sub(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$", "", markdown, flags=re.S | re.M)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", prose)


def assert_inert_markdown(markdown: str) -> None:
    fences = [line for line in markdown.splitlines() if re.match(r"^\s*(`{3,}|~{3,})", line)]
    assert len(fences) % 2 == 0, "a payload opened or closed a code fence"
    prose = outside_code(markdown)
    for marker in MARKDOWN_MARKERS:
        assert marker not in prose, marker
    for line in prose.splitlines():
        assert not line.lstrip().startswith("::"), line
    for table in re.findall(r"(?:^\|.*\n?)+", prose, flags=re.M):
        widths = {row.count("|") for row in table.splitlines()}
        assert len(widths) == 1, f"a payload broke a table:\n{table}"


def assert_inert_log(run: Run) -> None:
    assert TRACEBACK not in run.output, run.describe()
    assert "\x1b" not in run.output, run.describe()
    for line in run.output.splitlines():
        assert not line.lstrip().startswith("::"), f"a workflow command reached the log: {line!r}"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean and one hostile egmd health report (JSON + HTML), and their diff."""
    root = make_workspace(tmp_path_factory.mktemp("security") / "ws")
    sessions = session_rows(6, items_per_session=2)
    clean = list(event_rows(400, sessions=6, items_per_session=2))
    write_jsonl(root / "clean" / "egmd_events.jsonl", clean)
    write_jsonl(root / "clean" / "egmd_sessions.jsonl", sessions)
    write_jsonl(root / "hostile" / "egmd_events.jsonl", hostile_rows([dict(row) for row in clean]))
    write_jsonl(root / "hostile" / "egmd_sessions.jsonl", hostile_rows([dict(row) for row in sessions] * 8)[:6])
    runs = [
        run_drumgate(["health", "--workspace", str(root), "--events", "clean/egmd_events.jsonl",
                      "--date", "2026-01-14"], cwd=root),
        run_drumgate(["health", "--workspace", str(root), "--events", "hostile/egmd_events.jsonl",
                      "--date", DATE], cwd=root),
        run_drumgate(["diff", "--workspace", str(root), "reports/health/egmd_20260114.json",
                      f"reports/health/egmd_{DATE.replace('-', '')}.json"], cwd=root),
    ]
    (root / "runs.txt").write_text("\n".join(run.describe() for run in runs))
    for run in runs:
        assert run.code in (0, 1), run.describe()
        assert_inert_log(run)
    return root


def test_health_html_shows_payloads_as_text(reports: Path) -> None:
    health = reports / "reports" / "health"
    page = (health / f"egmd_{DATE.replace('-', '')}.html").read_text(encoding="utf-8")
    assert injected_html(page, (health / "egmd_20260114.html").read_text(encoding="utf-8")) == []
    for marker in HTML_MARKERS:
        assert marker not in page, marker


def test_diff_markdown_is_inert(reports: Path) -> None:
    markdown = next((reports / "reports" / "diffs").glob("*.md")).read_text(encoding="utf-8")
    assert "script" in markdown.lower(), "the payload should still be shown, escaped"
    assert_inert_markdown(markdown)


def test_pr_comment_is_inert(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", PROJECT_ROOT)
    write_dataset(repo, "egmd", 400, 8)
    commit_all(repo, "base")
    write_dataset(repo, "egmd", 400, 8, edit=lambda rows: hostile_rows(list(rows)))
    commit_all(repo, "head")
    run = run_drumgate(["pr-report", "--workspace", str(repo), "--base", "HEAD~1", "--head", "HEAD",
                        "--out", str(tmp_path / "out")], cwd=repo)
    assert run.code in (0, 1), run.describe()
    assert_inert_log(run)
    assert_inert_markdown((tmp_path / "out" / "comment.md").read_text(encoding="utf-8"))
    for page in (tmp_path / "out").rglob("*.html"):
        for marker in HTML_MARKERS:
            assert marker not in page.read_text(encoding="utf-8"), (page.name, marker)


HOSTILE_SESSION = "Evil <img src=x onerror=alert(1)> ${{ github.token }}_Song"
HOSTILE_STEM = "03_HiHat `rm -rf` [x](javascript:alert(1)).wav"


def test_hostile_cambridge_names_through_ingest_health_and_logs(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    raw = root / "data" / "raw"
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=7)
    session = raw / "cambridge" / HOSTILE_SESSION
    (raw / "cambridge" / "AlphaBand_FirstLight").rename(session)
    (session / "03_HiHat.wav").rename(session / HOSTILE_STEM)
    env = {"DRUMGATE_WORKSPACE": str(root)}
    runs = [run_drumgate(argv, cwd=root, env=env) for argv in (
        ("ingest", "cambridge"), ("events", "cambridge"),
        ("health", "--events", "data/manifests/cambridge_events.jsonl", "--date", DATE),
    )]
    for run in runs:
        assert run.code in (0, 1), run.describe()
        assert_inert_log(run)
    inventory = read_jsonl(root / "data" / "manifests" / "cambridge_sessions.jsonl")
    assert any(HOSTILE_SESSION in str(row) for row in inventory), "the hostile session was lost"
    page = (root / "reports" / "health" / f"cambridge_{DATE.replace('-', '')}.html").read_text(encoding="utf-8")
    for marker in HTML_MARKERS:
        assert marker not in page, marker


def egmd_workspace(root: Path) -> tuple[Path, list[list[str]]]:
    make_workspace(root)
    egmd = root / "data" / "raw" / "egmd"
    make_egmd_corpus(egmd, seed=7)
    csv = egmd / "e-gmd-v1.0.0.csv"
    return csv, [line.split(",") for line in csv.read_text(encoding="utf-8").splitlines()]


def plant_outside(root: Path, egmd: Path, row: list[str]) -> Path:
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    for column in (9, 10):
        shutil.copy(egmd / row[column], outside / Path(row[column]).name)
    return outside


@pytest.mark.parametrize("escape", ["dotdot", "absolute", "symlink"])
def test_egmd_paths_leaving_the_root_are_refused(tmp_path: Path, escape: str) -> None:
    root = tmp_path / "ws"
    csv, rows = egmd_workspace(root)
    egmd = csv.parent
    row = rows[1]
    outside = plant_outside(root, egmd, row)
    midi_name = Path(row[9]).name
    if escape == "dotdot":
        row[9] = f"../../../../outside/{midi_name}"
    elif escape == "absolute":
        row[9] = str(outside / midi_name)
    else:
        (egmd / row[9]).unlink()
        os.symlink(outside / midi_name, egmd / row[9])
    csv.write_text("\n".join(",".join(line) for line in rows) + "\n", encoding="utf-8")
    run = run_drumgate(["ingest", "egmd", "--date", DATE], cwd=root, env={"DRUMGATE_WORKSPACE": str(root)})
    assert run.code in (1, 2), run.describe()
    assert TRACEBACK not in run.output
    assert re.search(r"e-gmd-v1\.0\.0\.csv:2: |" + re.escape(midi_name), run.stderr), run.describe()
    events = root / "data" / "manifests" / "egmd_events.jsonl"
    read_from = {str(event.get("source", {}).get("file")) for event in read_jsonl(events)} if events.exists() else set()
    assert row[9] not in read_from, f"events were read through {row[9]}"


def test_cambridge_stem_symlinked_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    raw = root / "data" / "raw"
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=7)
    stem = raw / "cambridge" / "AlphaBand_FirstLight" / "03_HiHat.wav"
    outside = tmp_path / "outside.wav"
    shutil.move(stem, outside)
    os.symlink(outside, stem)
    env = {"DRUMGATE_WORKSPACE": str(root)}
    runs = [run_drumgate(argv, cwd=root, env=env) for argv in (("checksums", "generate", "cambridge"),
                                                                ("ingest", "cambridge"))]
    linked = "AlphaBand_FirstLight/03_HiHat.wav"
    for run in runs:
        assert TRACEBACK not in run.output, run.describe()
        assert linked in run.stderr, f"the symlink out of the root went unreported\n{run.describe()}"
    manifest = root / "data" / "archives" / "checksums" / "cambridge.sha256"
    assert not manifest.exists() or linked not in manifest.read_text(encoding="utf-8")


@pytest.mark.parametrize("line", ["primary/../../../etc/passwd", "/etc/passwd", "primary//etc/passwd"])
def test_checksum_paths_leaving_the_root_are_refused(tmp_path: Path, line: str) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "data" / "raw" / "cambridge").mkdir(parents=True)
    manifest = root / "data" / "archives" / "checksums" / "cambridge.sha256"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(f"{'0' * 64}  {line}\n", encoding="utf-8")
    run = run_drumgate(["checksums", "verify", "cambridge", "--workspace", str(root)], cwd=root)
    assert run.code in (1, 2), run.describe()
    assert TRACEBACK not in run.output
    assert "cambridge.sha256:1: " in run.stderr, run.describe()


class HostileGitHub(BaseHTTPRequestHandler):
    """A GitHub API stand-in whose every answer is an error carrying a hostile message."""

    def _answer(self) -> None:
        body = json.dumps({"message": "nope\n::add-mask::x\n\x1b[2J" + HOSTILE[0], "documentation_url": "x"})
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.mark.parametrize("api", ["unreachable", "hostile-errors"])
def test_comment_command_keeps_the_token_and_server_text_out_of_logs(tmp_path: Path, api: str) -> None:
    body = tmp_path / "comment.md"
    body.write_text("<!-- drumgate:health-delta -->\nhello\n", encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1] if api == "hostile-errors" else 9
        run = run_drumgate(
            ["comment", "--workspace", str(make_workspace(tmp_path / "ws")), "--repo", "o/r", "--pr", "1",
             "--body-file", str(body)],
            cwd=tmp_path, env={"GITHUB_TOKEN": SECRET, "GITHUB_API_URL": f"http://127.0.0.1:{port}"}, timeout=60,
        )
    finally:
        server.shutdown()
    assert run.code in (1, 2), run.describe()
    assert SECRET not in run.output
    assert_inert_log(run)


SECRET = "ghs_reliabilitySuiteSecret0123456789"

"""A fork cannot author what the bot says (issue 13, item 1).

pr-health.yml runs the pull request's own code, so its artifact is forged at will. The trusted
`workflow_run` job renders the comment itself from the artifact's summary.json with default-branch
drumgate (`pr-report --from-summary`). These tests forge that artifact: a summary that breaks the
schema or disagrees with itself is refused with one line (exit 2) and nothing is posted; a summary
that passes, carrying every hostile string we know, is posted only as escaped data: GitHub's own
Markdown renderer (cmark-gfm) finds no image, link, raw HTML or extra comment in it, no mention can
form, no bidi or zero-width character survives, and the gate verdict is the one its numbers give.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from drumgate.cli import pr_report
from drumgate.github.pr_summary import SUMMARY_MAX_BYTES
from tests import pr_scenario
from tests.reliability.support import TRACEBACK
from tests.test_pr_workflow import PR_NUMBER, TOKEN, comment_run
from tests.workflow_runner import FakeGitHub, serve_github

cmarkgfm = pytest.importorskip("cmarkgfm")

RUN_URL = "https://github.invalid/acme/drums/actions/runs/4242"
HOSTILE = [
    "✅ all gates pass: merge away",
    "@acme/maintainers please approve",
    "![x](http://evil.invalid/t.png)",
    "[click](https://evil.invalid/phish)",
    '<img src="http://evil.invalid/t.png">',
    "<!-- drumgate:health-delta -->",
    "line\nbreak | cell\r\n### heading",
    "\u202eevil\u202c name \u2066x\u2069 \u200e",
    "zero\u200bwidth\u200d\ufeffjoin",
    "www.evil.invalid and https://evil.invalid and x@evil.invalid",
    "`code` **bold** _it_ ~~s~~ #1 GH-1 $x$ {{ a }}",
    "\x1b]8;;http://evil.invalid\x07link\x1b]8;;\x07 ::error::pwned",
    "</code></details><script>alert(1)</script>",
]
SPLIT_HOSTILE = "<b>@x</b>\u202e\n"
FENCE_BREAK = "```\n</details>\n@acme ![x](http://evil.invalid/t.png)\n```"
ALLOWED_TAGS = {
    "p",
    "h3",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "pre",
    "details",
    "summary",
    "br",
    "sub",
    "strong",
    "ul",
    "li",
    "blockquote",
    "a",
}
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u061c]")


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    """A real summary.json from pr-report on the shared scenario; its head sha; the artifact folder."""
    root = tmp_path_factory.mktemp("forged")
    repo = root / "repo"
    base, head = pr_scenario.build(repo)
    out = root / "artifact"
    argv = ["--workspace", str(repo), "--base", base, "--head", head, "--out", str(out)]
    assert pr_report.main([*argv, "--repo-url", "https://github.invalid/acme/drums", "--run-id", "4242"]) == 0
    (out / "comment.md").unlink()
    (out / "pr-number.txt").write_text(f"{PR_NUMBER}\n", encoding="utf-8")
    return json.loads((out / "summary.json").read_text(encoding="utf-8")), head, out


def cycle(index: int) -> str:
    return HOSTILE[index % len(HOSTILE)]


def forge_strings(summary: dict[str, Any]) -> dict[str, Any]:
    """Every free string the schema allows replaced by hostile text; the numbers left as they were."""
    forged = copy.deepcopy(summary)
    egmd = forged["datasets"]["egmd"]
    for kind in ("classes", "techniques"):
        for index, row in enumerate(egmd[kind]["rows"]):
            row["name"] = cycle(index)
    egmd["sessions"]["added"]["names"] = list(HOSTILE)
    egmd["sessions"]["added"]["count"] = len(HOSTILE)
    egmd["sessions"]["split_changed"] = {
        "count": 1,
        "items": [{"session": HOSTILE[1], "base": SPLIT_HOSTILE, "head": SPLIT_HOSTILE}],
    }
    egmd["leakage_added"] = {"count": len(HOSTILE), "names": list(HOSTILE)}
    egmd["unknown_labels_added"] = {"count": 3, "names": HOSTILE[:3]}
    for index, gate in enumerate(egmd["gates"]["failing"] + egmd["gates"]["flipped"]):
        gate["name"] = cycle(index)
    for index, mover in enumerate(egmd["weights"]["movers"]):
        mover["session"] = cycle(index + 2)
    egmd["malformed_rows"] = {"base": 0, "head": 40, "head_shown": HOSTILE[:5]}
    egmd["licence"]["base"] = {key: cycle(index) for index, key in enumerate(egmd["licence"]["head"])}
    egmd["licence"]["head_error"] = None
    egmd["deepdiff_json"] = json.dumps({value: FENCE_BREAK + value for value in HOSTILE})
    forged["datasets"]["zz_broken"] = {"error": "\n".join(HOSTILE)}
    return forged


class Rendered(HTMLParser):
    """What cmark-gfm's HTML holds: tags with attributes, comments, and text outside <pre>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []
        self.text: list[str] = []
        self.in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.in_pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        self.in_pre -= tag == "pre"

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        if not self.in_pre:
            self.text.append(data)


def github_html(markdown: str) -> Rendered:
    from cmarkgfm.cmark import Options

    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    parsed = Rendered()
    parsed.feed(html)
    return parsed


def assert_only_escaped_data(body: str) -> None:
    parsed = github_html(body)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS, sorted({tag for tag, _ in parsed.tags} - ALLOWED_TAGS)
    links = [attrs.get("href") for tag, attrs in parsed.tags if tag == "a"]
    assert links and set(links) == {RUN_URL}, f"the only link is the trusted run's own: {links}"
    assert parsed.comments == [" drumgate:health-delta "], "one hidden marker, ours"
    text = "".join(parsed.text)
    assert not re.search(r"@[A-Za-z0-9]", text), "no mention can form"
    # cmark-gfm does not link references; GitHub does, in the rendered text: `#1` and `GH-1` to issue 1
    assert not re.search(r"(?i)(#|\bgh-)[0-9]", text), "no issue reference can form"
    assert not INVISIBLE.search(body), "no bidi or zero-width character travels raw"
    assert not [ch for ch in body if unicodedata.category(ch) == "Cc" and ch != "\n"], "no control character"
    outside_fences = re.sub(r"^(`{3,})json\n.*?^\1$", "", body, flags=re.S | re.M)
    ours = outside_fences.removeprefix("<!-- drumgate:health-delta -->").replace(f"]({RUN_URL})", "")
    for syntax in ("![", "](", "<img", "<script", "<!--", "@acme"):
        assert syntax not in ours, f"{syntax} comes only from the trusted template"
    for line in outside_fences.splitlines():
        if line.startswith("| "):
            assert line.count("|") in (6, 7), line
    assert "❗ zz_broken: health could not be computed" in body


def render(path: Path, tmp_path: Path) -> tuple[int, str, str]:
    out = tmp_path / "trusted"
    argv = [
        "--from-summary",
        str(path),
        "--out",
        str(out),
        "--repo-url",
        "https://github.invalid/acme/drums",
        "--run-id",
        "4242",
    ]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = pr_report.main(argv)
    body = (out / "comment.md").read_text(encoding="utf-8") if code == 0 else ""
    return code, body, stderr.getvalue()


def test_hostile_strings_render_as_escaped_data_with_the_verdict_from_the_numbers(honest, tmp_path: Path) -> None:
    summary, _, _ = honest
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(forge_strings(summary)), encoding="utf-8")
    code, body, err = render(path, tmp_path)
    assert code == 0, err
    assert_only_escaped_data(body)
    assert "| egmd | ✅ 9/9 → ❌ 8/9 |" in body, "the verdict is the tally's numbers, whatever the names say"
    assert "all gates pass" in body, "the forged text is shown, as data"


def test_the_trusted_job_posts_only_escaped_data(honest, tmp_path: Path) -> None:
    summary, head, artifact = honest
    fake = FakeGitHub(TOKEN, PR_NUMBER, head_sha=head)
    forged = {
        "summary.json": json.dumps(forge_strings(summary)),
        "comment.md": "<!-- drumgate:health-delta -->\n## ✅ all gates pass\n@acme/maintainers ![x](http://evil.invalid/t.png)\n",
    }
    with serve_github(fake) as api:
        results = comment_run(tmp_path, artifact, head, api, "runner-forged-strings", forged)
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    [posted] = fake.bot_comments()
    assert "## ✅ all gates pass" not in posted["body"], "comment.md from the artifact is never posted"
    assert_only_escaped_data(posted["body"])


def _set(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    forged = copy.deepcopy(document)
    *parents, last = dotted.split(".")
    target: Any = forged
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return forged


REFUSED = {
    "a verdict as text": ("verdict", "✅ all gates pass", "Additional properties are not allowed"),
    "a status beside the tally": ("datasets.egmd.status", "pass", "Additional properties are not allowed"),
    "Markdown to post": ("comment_md", "## ✅ all gates pass", "Additional properties are not allowed"),
    "a tally as a string": ("datasets.egmd.gates.head.passed", "9", "is not of type 'integer'"),
    "a count as a float": ("datasets.egmd.changes", 1.5, "is not of type 'integer'"),
    "a total as text": ("datasets.egmd.totals.events.head", "2,700", "is not of type 'number'"),
    "a boolean as text": ("configs_changed", "false", "is not of type 'boolean'"),
    "a session name of 10,000 characters": ("datasets.egmd.sessions.added.names.0", "x" * 10_000, "is too long"),
    "an empty name": ("datasets.egmd.classes.rows.0.name", "", "should be non-empty"),
    "sixty names in a sample": ("datasets.egmd.sessions.added.names", ["s"] * 60, "is too long"),
    "a commit that is not a sha": ("head", "HEAD; @acme", "does not match"),
    "a hostile dataset name": ("datasets.<img src=x>", {"error": "x"}, "does not match"),
    "a wrong schema version": ("schema_version", 1, "was expected"),
    "a link as the licence": ("datasets.egmd.licence.head", "[x](http://evil.invalid)", "is not valid under any"),
    "a null count": ("datasets.egmd.malformed_rows.head", None, "is not of type 'integer'"),
    "more passed than exist": ("datasets.egmd.gates.head.passed", 12, "more gates passed than exist"),
    "a tally of all-pass with a failing gate listed": (
        "datasets.egmd.gates.head.passed",
        9,
        "1 failing gates listed but the head tally has 0",
    ),
    "changed false with datasets": ("changed", False, "changed disagrees with the datasets listed"),
    "a deepdiff that is not JSON": ("datasets.egmd.deepdiff_json", "```\n@acme", "deepdiff_json: not JSON"),
    # orjson reads 1,024 levels but writes 254: this one was an internal error (exit 3) when rendered
    "a deepdiff nested 300 deep": ("datasets.egmd.deepdiff_json", "[" * 300 + "]" * 300, "deepdiff_json: not JSON"),
    # the schema's `^...$` lets one trailing newline through (Python's `$`); it reached the mermaid chart
    "a dataset name ending in a newline": ("datasets.egmd\n", {"error": "x"}, "is not a dataset name"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_forged_summary_is_refused_with_one_line(case: str, honest, tmp_path: Path) -> None:
    summary, _, _ = honest
    dotted, value, expected = REFUSED[case]
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(_set(summary, dotted, value)), encoding="utf-8")
    code, _, err = render(path, tmp_path)
    assert code == 2, err
    line = err.strip()
    assert line.count("\n") == 0 and TRACEBACK not in line and expected in line, line
    assert not (tmp_path / "trusted" / "comment.md").exists()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"schema_version": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"schema_version": 2, "schema_version": "\\ud800"}',
        b"\xff\xfe not text",
        b"",
        b"[]",
    ],
    ids=["nan", "deep nesting", "lone surrogate", "not utf-8", "empty", "an array"],
)
def test_a_summary_that_is_not_json_is_refused_with_one_line(raw: bytes, tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(raw)
    code, _, err = render(path, tmp_path)
    assert code == 2, err
    assert err.strip().count("\n") == 0 and TRACEBACK not in err


def test_an_oversized_or_linked_summary_is_refused(honest, tmp_path: Path) -> None:
    summary, _, artifact = honest
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(summary) + " " * SUMMARY_MAX_BYTES, encoding="utf-8")
    code, _, err = render(huge, tmp_path)
    assert code == 2 and "over the 4,000,000-byte cap" in err, err
    link = tmp_path / "link.json"
    link.symlink_to(artifact / "summary.json")
    code, _, err = render(link, tmp_path)
    assert code == 2 and "not a regular file" in err, err


@pytest.mark.parametrize("earlier", [True, False], ids=["earlier-comment", "no-comment"])
def test_a_refused_summary_withdraws_the_earlier_verdict_and_starts_no_comment(honest, tmp_path: Path,
                                                                               earlier: bool) -> None:
    """A summary the trusted job cannot read leaves no verdict standing: the old head's is replaced by
    the not-merge-safe notice (written by drumgate, not taken from the artifact); none is started."""
    summary, head, artifact = honest
    old = {"id": 7, "body": "<!-- drumgate:health-delta -->\n✅ **Merge-safe**",
           "user": {"login": "github-actions[bot]", "type": "Bot"}}
    fake = FakeGitHub(TOKEN, PR_NUMBER, head_sha=head, comments=[old] if earlier else [])
    forged = {"summary.json": json.dumps(_set(summary, "verdict", "✅ all gates pass"))}
    with serve_github(fake) as api:
        results = comment_run(tmp_path, artifact, head, api, "runner-refused", forged)
    refused, withdrawn = results[-2:]
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "Additional properties" in refused.stderr
    assert withdrawn.returncode == 0, withdrawn.stderr
    if not earlier:
        assert fake.comments == [] and "comment skipped" in withdrawn.stdout
        return
    [comment] = fake.bot_comments()
    assert comment["id"] == 7 and "comment updated" in withdrawn.stdout
    assert comment["body"].startswith("<!-- drumgate:health-delta -->\n❗ **Not merge-safe: dataset health could"
                                      f" not be computed** for `{head[:12]}`.")
    assert "✅" not in comment["body"] and "all gates pass" not in comment["body"]
    links = [attrs.get("href") for tag, attrs in github_html(comment["body"]).tags if tag == "a"]
    assert links == [RUN_URL], "the one link is the health run's, built from the run's own context"


def test_a_deep_deepdiff_costs_no_more_than_a_comment_can_show() -> None:
    """Indenting a diff nested 200 deep multiplied a 0.5 MB summary into gigabytes: the text is now cut
    just past a comment's length before it is escaped, and a compact diff over that is not indented."""
    from drumgate.github.pr_details import deepdiff_block
    from drumgate.github.sticky import COMMENT_LIMIT

    nested = "[" * 200 + ",".join(['"x"'] * 40_000) + "]" * 200
    for cap in (None, 8_000):
        block = "\n".join(deepdiff_block({"deepdiff_json": nested, "dataset": "egmd", "changes": 1}, cap))
        shown = COMMENT_LIMIT if cap is None else cap
        assert f"Cut at {shown:,} characters" in block
        assert len(block) < shown + 1_000

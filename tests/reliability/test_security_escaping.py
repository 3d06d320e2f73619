"""Every printed dataset name goes through drumgate.render.textsafe: logs, findings, Markdown and HTML hold
no raw control, bidi or zero-width character, no line a workflow command could start, and each
finding stays one line."""

from __future__ import annotations

import copy
import csv
import re
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.errors import DrumgateError, format_finding, one_line
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.health_events import event_rows, session_rows
from drumgate.io.jsonio import write_jsonl
from drumgate.render import markdown as mdrender
from drumgate.render.html_report import render_health_html
from drumgate.render.textsafe import html_text, log_text, markdown_text
from drumgate.reports.diffing import diff_reports, render_diff_markdown
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.workspace import Workspace
from tests.diff_fixtures import health_report, next_day_report
from tests.reliability.support import DATE, TRACEBACK, Run, make_workspace, run_drumgate
from tests.reliability.test_security import outside_code

# One name carrying every trick: a newline starting a workflow command, an SGR colour, an OSC 8
# hyperlink ended by BEL, a right-to-left override, zero-width and isolate characters, a mention,
# a Markdown link and raw HTML.
NASTY = (
    "::error::pwned\n::warning file=x::owned \x1b[31mred\x1b[0m "
    "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 "
    "\u202egnp.exe\u202c zero\u200bwidth \u2066iso\u2069 \ufeffbom\u200e "
    "@octo-team [x](https://evil.example) <b>bold</b> ##[error]legacy"
)
RAW_CHARACTERS = {
    "newline": "\n",
    "carriage return": "\r",
    "ESC": "\x1b",
    "BEL": "\x07",
    "RLO U+202E": "\u202e",
    "PDF U+202C": "\u202c",
    "LRI U+2066": "\u2066",
    "PDI U+2069": "\u2069",
    "LRM U+200E": "\u200e",
    "ZWSP U+200B": "\u200b",
    "BOM U+FEFF": "\ufeff",
}


def raw_characters_in(text: str) -> list[str]:
    return [name for name, char in RAW_CHARACTERS.items() if char in text]


def assert_inert_lines(text: str) -> None:
    assert raw_characters_in(text.replace("\n", "")) == [], text
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), f"a workflow command could start: {line!r}"
        assert "##[" not in line, f"a legacy workflow command could start: {line!r}"


def nasty_lines(output: str) -> list[str]:
    """The output lines that show the nasty name (its `pwned` marker)."""
    return [line for line in output.splitlines() if "pwned" in line]


def assert_inert_run(run: Run, expected_lines: int) -> None:
    assert TRACEBACK not in run.output, run.describe()
    assert_inert_lines(run.stdout)
    assert_inert_lines(run.stderr)
    shown = nasty_lines(run.output)
    assert len(shown) == expected_lines, run.describe()
    for line in shown:
        assert "owned" in line and "legacy" in line, f"the name was split across lines: {line!r}"


def test_log_text_escapes_every_invisible_and_control_character_visibly() -> None:
    safe = log_text(NASTY)
    assert_inert_lines(safe)
    assert "\n" not in safe
    for escape in ("\\n", "\\x1b", "\\x07", "\\u202e", "\\u202c", "\\u200b", "\\u2066", "\\u2069", "\\ufeff"):
        assert escape in safe, escape
    assert log_text("  ::notice::x").lstrip().startswith("\\x3a:")
    assert log_text("plain name_01 - Song (Live)") == "plain name_01 - Song (Live)"


@pytest.mark.parametrize("invisible", ["\u202e", "\u200b", "\u2060", "\ufeff", "\u061c", "\u200f", "\U000e0041"])
def test_names_differing_only_by_an_invisible_character_print_differently(invisible: str) -> None:
    assert log_text(f"Track{invisible}") != log_text("Track")
    assert raw_characters_in(log_text(f"Track{invisible}")) == []
    assert invisible not in log_text(f"Track{invisible}")


def test_markdown_text_forms_no_mention_link_image_html_or_cell_break() -> None:
    safe = markdown_text(NASTY + " ![img](https://t.example/p.png) a|b www.evil.example #12 `code`")
    assert_inert_lines(safe)
    assert "@octo" not in safe and "](" not in safe and "<b>" not in safe and "|" not in safe
    assert "https://" not in safe and "www." not in safe and "&#35;12" not in safe and "`" not in safe


@pytest.mark.parametrize("reference", ["GH-12", "gh-7", "see Gh-3."])
def test_markdown_text_breaks_githubs_short_issue_reference(reference: str) -> None:
    safe = markdown_text(reference)
    assert re.search(r"(?i)\bgh-[0-9]", safe) is None, "GitHub links GH-<n> to issue <n>"
    assert safe.replace("&#8203;", "") == reference, "only an invisible break is added"


def test_a_word_ending_in_gh_before_a_dash_number_is_left_alone() -> None:
    assert markdown_text("high-5 sigh-2") == "high-5 sigh-2"


def test_html_text_escapes_markup_and_shows_invisible_characters() -> None:
    safe = str(html_text(NASTY))
    assert_inert_lines(safe)
    assert "<b>" not in safe and "\\u202e" in safe


def test_a_finding_with_a_nasty_path_message_and_hint_stays_one_line() -> None:
    line = format_finding(NASTY, f"cannot read {NASTY}", 12, hint=f"fix: rename {NASTY}")
    assert "\n" not in line and line.count("pwned") == 3
    assert_inert_lines(line)
    error = DrumgateError(NASTY, path=NASTY, line=3, hint=NASTY)
    assert str(error).count("\n") == 0
    assert_inert_lines(str(error))
    assert one_line(NASTY) == log_text(NASTY)


def test_internal_error_line_is_escaped(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> int:
        raise RuntimeError(f"server said: {NASTY}")

    monkeypatch.delenv("DRUMGATE_DEBUG", raising=False)
    assert cli.guarded(explode) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "internal error: RuntimeError: server said: ::error::pwned\\n::warning" in lines[0]
    assert_inert_lines(captured.err)


def nasty_events(count: int, sessions: int) -> tuple[list[dict], list[dict]]:
    """Events and sessions whose first session is named NASTY."""
    events = list(event_rows(count, sessions=sessions, items_per_session=2))
    inventory = session_rows(sessions, items_per_session=2)
    first = inventory[0]["session_id"]
    for row in events + inventory:
        if row["session_id"] == first:
            row["session_id"] = NASTY
    return events, inventory


def test_weights_output_escapes_session_ids(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    events, inventory = nasty_events(600, sessions=4)
    write_jsonl(root / "in" / "egmd_events.jsonl", events)
    write_jsonl(root / "in" / "egmd_sessions.jsonl", inventory)
    run = run_drumgate(["weights", "--workspace", str(root), "--events", "in/egmd_events.jsonl",
                        "--scheme", "inverse", "--date", DATE], cwd=root)
    assert run.code == 0, run.describe()
    assert_inert_run(run, expected_lines=1)
    assert re.search(r"^  \d\.\d{6}  \\x3a:error::pwned\\n::warning", run.stdout, flags=re.M), run.stdout


def rewrite_csv(csv_path: Path) -> None:
    """Two renders of one performance get the NASTY id and disagree on split; a third row names a
    MIDI file that does not exist, after the NASTY name."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    column = {name: header.index(name) for name in ("id", "split", "midi_filename")}
    first, second, third = rows[1], rows[2], rows[3]
    assert first[column["id"]] == second[column["id"]], "the fixture's first two rows share a performance"
    first[column["id"]] = second[column["id"]] = NASTY
    second[column["split"]] = "test" if first[column["split"]] != "test" else "train"
    third[column["midi_filename"]] = f"{NASTY}.midi"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_egmd_csv_ids_and_file_names_are_escaped_in_the_ingest_log(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    egmd = root / "data" / "raw" / "egmd"
    make_egmd_corpus(egmd, seed=7)
    rewrite_csv(egmd / "e-gmd-v1.0.0.csv")
    run = run_drumgate(["ingest", "egmd", "--jobs", "1"], cwd=root, env={"DRUMGATE_WORKSPACE": str(root)})
    assert run.code == 1, run.describe()
    # the split warning and the exclusion (the contract's summary counts findings; it does not repeat them)
    assert_inert_run(run, expected_lines=2)
    assert any(line.startswith("warning: \\x3a:error::pwned") for line in nasty_lines(run.stderr)), run.describe()
    # the exclusion names the file by its full path: the name follows the root, no workflow command at line start
    excluded = f"{egmd}/::error::pwned\\n::warning"
    assert any(line.startswith(excluded) for line in nasty_lines(run.stderr)), run.describe()


def test_markdown_render_of_a_nasty_session_is_inert() -> None:
    base, head = health_report(), next_day_report()
    head = copy.deepcopy(head)
    head["sessions"][NASTY] = {"events": 5, "split": "train"}
    markdown = render_diff_markdown(diff_reports(base, head), f"diff {NASTY}")
    assert "pwned" in markdown, "the name should still be shown, escaped"
    assert_inert_lines(markdown)
    for marker in ("@octo", "](", "<b>", "https://evil"):
        assert marker not in outside_code(markdown), marker
    template = mdrender.environment().from_string("{{ name }} {{ name|code }} {{ [name]|names }}\n")
    rendered = template.render(name=NASTY)
    assert rendered.count("pwned") == 3 and rendered.count("\n") == 1
    assert_inert_lines(rendered)


def test_html_render_of_a_nasty_session_and_label_is_inert(workspace: Workspace) -> None:
    events, inventory = nasty_events(400, sessions=4)
    events[1]["label"] = NASTY
    report = compute_health(load_health_config(workspace, "egmd"), enumerate(events, 1), inventory)
    page = render_health_html(report, date=DATE)
    assert "pwned" in page and "\\u202e" in page
    assert raw_characters_in(page.replace("\n", "")) == []
    for marker in ("<b>bold", "\x1b]8", "https://evil.example/\x07"):
        assert marker not in page, marker

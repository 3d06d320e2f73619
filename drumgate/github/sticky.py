"""The pull request's one sticky comment: its marker, GitHub's size limit, and create-or-update.

The comment is found by a hidden marker (`<!-- drumgate:health-delta -->`) on its first line and
written by a bot account (or by a named author). Bodies over GitHub's 65,536-character limit are
cut at a line boundary, open code fences and `<details>` blocks are closed, and a note says so.
`drumgate pr-report` renders under the same limit and opens its comment with the same marker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drumgate.github.rest_client import GitHubClient

# GitHub refuses a comment body longer than this many characters.
COMMENT_LIMIT = 65_536
COMMENT_LIMIT_TEXT = f"{COMMENT_LIMIT:,}-character"
DEFAULT_MARKER = "drumgate:health-delta"
CUT_NOTE = (
    f"\n> [!NOTE]\n> This comment was cut to stay under GitHub's {COMMENT_LIMIT_TEXT} limit; "
    "the full report is in the workflow artifact.\n"
)


def marker_line(marker: str) -> str:
    return f"<!-- {marker} -->"


MARKER = marker_line(DEFAULT_MARKER)


def _closers(kept: list[str]) -> list[str]:
    """Lines that close the code fence and `<details>` blocks left open by a cut."""
    fence: str | None = None
    open_details = 0
    for line in kept:
        stripped = line.lstrip()
        if fence is not None:
            if stripped.startswith(fence) and not stripped[len(fence) :].strip("`").strip():
                fence = None
            continue
        run = re.match(r"^(`{3,}|~{3,})", stripped)
        if run:
            fence = run.group(1)
            continue
        open_details += stripped.count("<details") - stripped.count("</details>")
    closers = [fence] if fence else []
    closers.extend(["</details>"] * max(open_details, 0))
    return closers


def cut_body(body: str, limit: int = COMMENT_LIMIT) -> tuple[str, bool]:
    """`body` unchanged when it fits, else cut at a line boundary with blocks closed and a note."""
    if len(body) <= limit:
        return body, False
    lines = body.split("\n")
    kept: list[str] = []
    size = 0
    reserve = len(CUT_NOTE) + 200
    for line in lines:
        if size + len(line) + 1 + reserve > limit:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:
        kept = [body[: max(limit - reserve, 0)]]
    closing = _closers(kept)
    text = "\n".join([*kept, *closing]) + "\n" + CUT_NOTE
    return text[:limit], True


def with_marker(body: str, marker: str) -> str:
    line = marker_line(marker)
    if body.lstrip().startswith(line):
        return body
    return f"{line}\n{body}"


def find_sticky(comments: Sequence[dict[str, Any]], marker: str, author: str | None) -> dict[str, Any] | None:
    """The first comment opening with the marker, by `author` or else by any bot account."""
    line = marker_line(marker)
    for comment in comments:
        body = comment.get("body") or ""
        user = comment.get("user") or {}
        by_expected = user.get("login") == author if author else user.get("type") == "Bot"
        if body.lstrip().startswith(line) and by_expected:
            return comment
    return None


def post_sticky(
    client: GitHubClient,
    repo: str,
    number: int,
    body: str,
    marker: str,
    *,
    author: str | None = None,
    no_create: bool = False,
) -> tuple[str, dict[str, Any] | None]:
    """Update the sticky comment in place or create it; returns (action, comment)."""
    existing = find_sticky(client.issue_comments(repo, number), marker, author)
    if existing is not None:
        return "updated", client.update_comment(repo, int(existing["id"]), body)
    if no_create:
        return "skipped", None
    return "created", client.create_comment(repo, number, body)

"""The one escaper for dataset-derived text: log lines, GitHub Markdown and HTML.

Folder, zip-member, CSV and server strings reach terminals, CI logs, pull-request comments and
HTML reports. Each function here makes such a string inert in one of those places and keeps it
readable: a character that could act is shown as an escape (``\\n``, ``\\x1b``, ``\\u202e``),
never dropped, so two different names never print the same.

- `log_text`: control characters (C0, C1, DEL; ESC, OSC, BEL, CR, LF), line and paragraph
  separators, invisible format characters (bidi controls U+202A-202E, U+2066-2069, U+200E/200F,
  U+061C; zero-width U+200B-200D, U+2060, U+FEFF; every other Unicode "Cf") and lone surrogates
  are escaped; a leading ``::`` and any ``##[`` are escaped so no GitHub Actions workflow command
  can start. The result is one line that any UTF-8 stream can print.
- `markdown_text`: `log_text`, then every character GitHub Markdown or its HTML could act on
  becomes an entity, and mentions, issue references (`#12`, `GH-12`) and autolinks are broken with an
  invisible zero-width space entity, so no mention, link, image, raw HTML, code span or table break forms.
- `html_text`: `log_text`, then HTML escaping (as `Markup`, so jinja2 does not escape it twice).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markupsafe import Markup

# Categories shown escaped: Cc control, Cf format (bidi, zero-width, BOM, tags), Cs lone
# surrogate, Zl/Zp line and paragraph separators. All are invisible or act on the display.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_WORKFLOW_COMMAND_START = re.compile(r"^(\s*):")
_LEGACY_WORKFLOW_COMMAND = "##["

# One entity per character GitHub Markdown (or the HTML it allows) gives a meaning to.
_MARKDOWN_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "`": "&#96;",
    "$": "&#36;",
    "{": "&#123;",
    "}": "&#125;",
    "\\": "&#92;",
    "*": "&#42;",
    "_": "\\_",
    "[": "&#91;",
    "]": "&#93;",
    "~": "&#126;",
}
# GitHub links mentions (@team), issue references (#12) and bare URLs after rendering, on the
# text itself, so an entity alone is not enough: an invisible zero-width space breaks the token.
_ZERO_WIDTH_SPACE_ENTITY = "&#8203;"
_MARKDOWN_BREAK_AFTER = {"@": "&#64;" + _ZERO_WIDTH_SPACE_ENTITY, "#": "&#35;" + _ZERO_WIDTH_SPACE_ENTITY}
_JSON_IN_FENCE = {"`": "\\u0060", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "$": "\\u0024"}
_LAYOUT = "\n\r\t"
# `://` and `www.` start an autolink; `GH-12` is an issue reference as `#12` is (GitHub's own short form)
_AUTOLINK_TRIGGER = re.compile(r"(?i)(:)(?=//)|(www)(?=\.)|\b(gh)(?=-[0-9])")


def _is_escaped(char: str) -> bool:
    if char < "\x80":
        return char < " " or char == "\x7f"
    return unicodedata.category(char) in _ESCAPED_CATEGORIES


def _shown(char: str) -> str:
    code = ord(char)
    if char in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _json_escape(char: str) -> str:
    return json.dumps(char)[1:-1]


def _neutralised(value: str, keep: str, shown: Callable[[str], str] = _shown) -> str:
    if value.isascii() and value.isprintable():
        return value
    return "".join(shown(ch) if _is_escaped(ch) and ch not in keep else ch for ch in value)


def log_text(text: object) -> str:
    """`text` as one inert log line: invisible and control characters escaped, no workflow command."""
    safe = _neutralised(str(text), keep="")
    safe = _WORKFLOW_COMMAND_START.sub(lambda m: m.group(1) + "\\x3a", safe, count=1)
    return safe.replace(_LEGACY_WORKFLOW_COMMAND, "\\x23#[")


def _intraword(text: str, index: int) -> bool:
    return 0 < index < len(text) - 1 and text[index - 1].isalnum() and text[index + 1].isalnum()


def markdown_text(text: object) -> str:
    """`text` safe anywhere in GitHub Markdown: the log rules, then no markup, link, mention or cell break."""
    value = _AUTOLINK_TRIGGER.sub(lambda m: m.group() + "\u200b", log_text(text))
    pieces = []
    for index, char in enumerate(value):
        if char == "\u200b":
            pieces.append(_ZERO_WIDTH_SPACE_ENTITY)
        elif char == "_" and _intraword(value, index):
            pieces.append(char)
        elif char in _MARKDOWN_BREAK_AFTER:
            pieces.append(_MARKDOWN_BREAK_AFTER[char])
        else:
            pieces.append(_MARKDOWN_ENTITIES.get(char, char))
    return "".join(pieces)


def markup_text(markup: str) -> str:
    """Text that is already markup (HTML, Markdown, JSON): controls, bidi and zero-width shown escaped.

    Newlines and tabs stay: in markup they are layout, and the values inside were escaped already.
    The escapes added (backslash, letters, digits) mean nothing to HTML or Markdown.
    """
    return _neutralised(markup, keep=_LAYOUT)


def html_text(text: object) -> Markup:
    """`text` safe in HTML text or a quoted attribute: the log rules, then HTML escaping.

    `Markup` (already HTML) keeps its tags and layout; only invisible characters are shown escaped.
    """
    from markupsafe import Markup, escape  # imported here: hooks that only print log lines skip it

    if isinstance(text, Markup):
        return Markup(markup_text(text))
    return escape(log_text(text))


def markdown_json(text: str) -> str:
    """JSON text for a Markdown code fence: still valid JSON, unable to close the fence, inject HTML,
    reorder text or, printed to a log, start a workflow command (`##[` only occurs inside strings)."""
    safe = "".join(_JSON_IN_FENCE.get(ch, ch) for ch in _neutralised(text, keep=_LAYOUT, shown=_json_escape))
    return safe.replace(_LEGACY_WORKFLOW_COMMAND, "#\\u0023[")

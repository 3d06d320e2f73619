"""Jinja2 rendering for Markdown artifacts, with every interpolated value escaped.

The environment's `finalize` escapes each `{{ ... }}` value for Markdown and HTML (GitHub
renders both in a comment) through drumgate.render.textsafe, so a session or label named
`` `<script>|${{ x }} @team U+202E`` `` prints as text and never as markup, a mention, a link, a
table cell break, an Actions expression or reordered text. Filters that build markup themselves
escape their inputs and return `Markup`, whose invisible characters `finalize` still shows escaped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from drumgate.render.gate_wording import gate_rule
from drumgate.render.numbers import fmt_number, fmt_pct_change, fmt_pp, fmt_share, fmt_signed, fmt_threshold
from drumgate.render.template_cache import bytecode_cache
from drumgate.render.textsafe import markdown_json, markdown_text, markup_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
NAME_CHARS = 80
SAFE_IN_CODE = re.compile(r"[A-Za-z0-9 _.,:;=+()/'\[\]-]+")


def _finalize(value: Any) -> Markup:
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return Markup(markup_text(value))
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, (int, float)):
        return Markup(markdown_text(fmt_number(value)))
    return Markup(markdown_text(str(value)))


def status_icon(status: Any) -> str:
    return {"pass": "✅", "fail": "❌"}.get(str(status), "—")


def truncate(text: Any, limit: int = NAME_CHARS) -> str:
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def code_name(name: Any) -> Markup:
    """A name as a code span when it cannot break one, else as escaped text."""
    text = truncate(name)
    if SAFE_IN_CODE.fullmatch(text):
        return Markup(f"`{text}`")
    return Markup(markdown_text(text))


def names_list(names: Iterable[Any], limit: int = 20, empty: str = "none") -> Markup:
    items = [str(n) for n in names]
    if not items:
        return Markup(markdown_text(empty))
    shown = ", ".join(code_name(n) for n in items[:limit])
    more = f", … (+{len(items) - limit} more)" if len(items) > limit else ""
    return Markup(shown + more)


def fenced_json(text: str, cap: int) -> Markup:
    """JSON text for a ```json fence: still valid JSON, unable to close the fence or inject HTML."""
    safe = markdown_json(text)
    if len(safe) > cap:
        cut = safe.rfind("\n", 0, cap)
        cut = cap if cut <= 0 else cut
        hidden = len(safe) - cut
        safe = safe[:cut] + f"\n… truncated: {hidden:,} more characters (the JSON artifact has all of it)"
    return Markup(safe)


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=bytecode_cache(),
    )
    env.filters.update(
        num=fmt_number,
        signed=fmt_signed,
        pct_change=fmt_pct_change,
        pp=fmt_pp,
        share=fmt_share,
        icon=status_icon,
        trunc=truncate,
        threshold=fmt_threshold,
        gate_rule=gate_rule,
        names=names_list,
        code=code_name,
        fenced_json=fenced_json,
    )
    return env


def render_template(name: str, **context: Any) -> str:
    """Render `drumgate/render/templates/<name>`; the result ends with exactly one newline."""
    text = environment().get_template(name).render(**context)
    return text.rstrip("\n") + "\n"

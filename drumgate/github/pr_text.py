"""Text and numbers for the pull-request comment: escaped names, code, fences and number styles.

Every string from the summary goes through `esc` (`drumgate.render.textsafe.markdown_text`), so none
can mention, link, embed an image, open HTML, break a table or reorder text with bidi controls.
Numbers are shown with thousands separators, a true minus sign and as many significant digits as
it takes for a change to show.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from drumgate.render.markdown import truncate
from drumgate.render.numbers import MINUS
from drumgate.render.textsafe import markdown_text

NAMES_SHOWN = 12
NAME_CHARS = 80


def esc(value: Any, limit: int = NAME_CHARS) -> str:
    """Plain text safe anywhere in GitHub Markdown, in a table cell and inside HTML (cut to `limit`):
    the one escaper, drumgate.render.textsafe.markdown_text, as the Markdown reports use it."""
    return markdown_text(truncate(value, limit))


def code(value: Any, limit: int = NAME_CHARS) -> str:
    return f"<code>{esc(value, limit)}</code>"


def fenced(text: str, info: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside `text`."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"



# Numbers ----------------------------------------------------------------------------------------
def as_number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def count(value: Any) -> str:
    number = as_number(value)
    text = f"{abs(number):,.0f}" if number.is_integer() else f"{abs(number):,.4g}"
    return f"{MINUS}{text}" if number < 0 else text


def signed(value: Any) -> str:
    number = as_number(value)
    if number == 0:
        return "±0"
    return ("+" if number > 0 else "") + count(number)


def percent_change(base: Any, head: Any) -> str:
    before, after = as_number(base), as_number(head)
    if before == 0:
        return "new" if after else ""
    change = round((after - before) / before * 100, 1)  # rounded first: a tiny change reads ±0.0%, not −0.0%
    text = f"{abs(change):.1f}%"
    return ("+" if change > 0 else MINUS if change < 0 else "±") + text


def points(value: Any) -> str:
    number = round(as_number(value), 2)
    if number == 0:
        return "±0 pp"
    return f"{'+' if number > 0 else MINUS}{abs(number):.2f} pp"


def _decimals(number: float, digits: int) -> int:
    return 0 if number == 0 else max(0, digits - 1 - math.floor(math.log10(abs(number))))


def _without_trailing_zeros(texts: list[str]) -> list[str]:
    """Drop the trailing zeros every one of `texts` shares after its decimal point (0.00670 -> 0.0067)."""
    while all("." in text and text.endswith("0") for text in texts):
        texts = [text[:-1] for text in texts]
    return [text[:-1] if text.endswith(".") else text for text in texts]


def significant(value: Any, digits: int = 3) -> str:
    """`value` to `digits` significant digits, never in exponent form (0.0286, 1.25, 1,234)."""
    number = as_number(value)
    return _without_trailing_zeros([f"{number:,.{_decimals(number, digits)}f}"])[0]


def significant_pair(base: Any, head: Any, digits: int = 3) -> tuple[str, str]:
    """Both values to the same decimals, with as many significant digits as it takes for a change to show."""
    before, after = as_number(base), as_number(head)
    while True:
        decimals = max(_decimals(before, digits), _decimals(after, digits))
        texts = [f"{before:,.{decimals}f}", f"{after:,.{decimals}f}"]
        if texts[0] != texts[1] or before == after or digits >= 12:
            break
        digits += 1
    first, second = _without_trailing_zeros(texts)
    return first, second


def hours_change(row: Mapping[str, Any]) -> str:
    before, after = significant_pair(row["base"], row["head"])
    change = percent_change(row["base"], row["head"])
    moved = change and as_number(row["base"]) != as_number(row["head"])
    return f"{before} → {after}" + (f" ({change})" if moved else "")


def weight(value: Any) -> str:
    number = as_number(value)
    if number == 0:
        return "—"
    return significant(number, 4)



def plural(number: int, word: str) -> str:
    return f"{count(number)} {word}{'' if number == 1 else 's'}"



def names_list(sample: Mapping[str, Any], shown: int = NAMES_SHOWN) -> str:
    """The first `shown` names of a sample (`names`, and `count` of them all) and how many more."""
    names, total = sample["names"][:shown], int(sample["count"])
    if not total:
        return "none"
    head = ", ".join(code(name) for name in names)
    rest = total - len(names)
    return f"{head}, … and {count(rest)} more" if rest > 0 else head

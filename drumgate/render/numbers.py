"""Numbers as the Markdown reports print them: thousands separators, a true minus sign, shares and
percentage points. Shared by the Markdown templates' filters and the gate wording."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MINUS = "\u2212"


def fmt_number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.1f}"
    elif abs(value) >= 1:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.4g}"
    return text.replace("-", MINUS)


def fmt_signed(value: Any) -> str:
    if not isinstance(value, (int, float)) or value == 0:
        return "0"
    return ("+" if value > 0 else "") + fmt_number(value)


def fmt_pct_change(base: Any, head: Any) -> str:
    if not isinstance(base, (int, float)) or not isinstance(head, (int, float)) or base == 0 or base == head:
        return ""
    change = (head - base) / base * 100
    return f"{'+' if change > 0 else MINUS}{abs(change):.1f}%"


def fmt_pp(value: Any) -> str:
    if not isinstance(value, (int, float)) or value == 0:
        return "0 pp"
    return f"{'+' if value > 0 else MINUS}{abs(value):.2f} pp"


def fmt_share(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    return f"{value * 100:.2f}%"


def fmt_threshold(threshold: Any) -> str:
    if isinstance(threshold, Sequence) and not isinstance(threshold, str):
        return "–".join(fmt_number(t) for t in threshold)
    return fmt_number(threshold)


def counted(number: int, noun: str) -> str:
    """A count with its noun, singular for one: `1 finding`, `3 findings`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"

"""The fix parts of a bad `--date` or SOURCE_DATE_EPOCH: a value that works, typed out in full."""

from __future__ import annotations

import datetime as dt
import re

# Year, month and day in that order with any one separator (`2026/3/1`, `2026.03.01`): the day the
# user meant is plain, so the fix names it rather than today.
LOOSE_DATE = re.compile(r"\s*([0-9]{4})[^0-9]([0-9]{1,2})[^0-9]([0-9]{1,2})\s*")
COMPACT_DATE = re.compile(r"\s*([0-9]{4})([0-9]{2})([0-9]{2})\s*")  # as dated report names spell it


def meant_day(text: str) -> dt.date | None:
    """The day `text` spells with other separators or no zero padding, if it is a real day."""
    match = LOOSE_DATE.fullmatch(text) or COMPACT_DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def date_fix(text: str, today: dt.date | None = None) -> str:
    """`fix: pass --date <day>`: the day meant when it is plain, else today (UTC)."""
    day = meant_day(text)
    if day is not None:
        return f"fix: pass --date {day.isoformat()}"
    shown = (today or dt.datetime.now(tz=dt.UTC).date()).isoformat()
    return f"fix: pass a real day as YYYY-MM-DD, e.g. --date {shown}, or leave --date out for today"


def epoch_fix(now: dt.datetime | None = None) -> str:
    """Unset it, or set it to a whole number of seconds (now, as an example that works)."""
    seconds = int((now or dt.datetime.now(tz=dt.UTC)).timestamp())
    return f"fix: unset SOURCE_DATE_EPOCH, or export SOURCE_DATE_EPOCH={seconds}"

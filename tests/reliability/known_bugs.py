"""Bugs this suite found that their owners have not fixed yet: each test stays, marked
`xfail(strict=True)` with the exact cause, so a fix turns it into a failure to remove here."""

from __future__ import annotations

KNOWN_BUGS: dict[str, str] = {}

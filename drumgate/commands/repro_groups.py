"""Which artifact groups a `drumgate repro GROUP...` names: a group or a retired group; anything else
is a usage error whose fix names the group meant."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from drumgate.artifacts import registry
from drumgate.errors import DrumgateError
from drumgate.lineage.moved import retired_groups
from drumgate.workspace import Workspace


def known_groups(ws: Workspace, groups: Sequence[str]) -> list[str]:
    """Every artifact group of the config; a name in `groups` that is neither one nor retired is a usage error."""
    known = registry(ws).all_groups()
    unknown = [g for g in groups if g not in known and g not in retired_groups(ws, known)]
    if unknown:
        meant = [next(iter(difflib.get_close_matches(name, known, n=1, cutoff=0.5)), None) for name in unknown]
        kept = [g for g in groups if g not in unknown]
        fix = (f"fix: drumgate repro {' '.join([*kept, *(m for m in meant if m)])}" if all(meant)
               else f"fix: drumgate repro GROUP with GROUP one of {', '.join(known)}, or drumgate repro for all")
        raise DrumgateError(f"unknown artifact group {unknown[0]!r} (known: {', '.join(known)})", hint=fix)
    return known

"""A crash variant's primary label is what its events are labelled: outside the crash family, their dual
labels are refused by the taxonomy hook on every run of the command that wrote them (a loop no printed
fix ends). So the taxonomy refuses such a crash map, or a crash family that leaves the primaries out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from drumgate.errors import DrumgateError
from drumgate.taxonomy import CRASH_FILE, TAXONOMY_FILE, load_taxonomy
from drumgate.workspace import Workspace


def _edit(ws: Workspace, name: str, edit: Callable[[dict[str, Any]], Any]) -> None:
    path = ws.configs / name
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def test_the_shipped_crash_map_is_within_its_family(workspace: Workspace) -> None:
    load_taxonomy(workspace)


def test_a_primary_outside_the_family_is_refused_naming_the_crash_map(workspace: Workspace) -> None:
    _edit(workspace, CRASH_FILE, lambda d: d["variants"]["cymbal_overhead"].__setitem__("primary", "cymbal"))
    with pytest.raises(DrumgateError) as caught:
        load_taxonomy(workspace)
    assert caught.value.message == ("crash variant 'cymbal_overhead' has primary 'cymbal', which is not in the crash"
                                    " family 'crash': only crash-family events carry dual labels")
    assert caught.value.path == workspace.configs / CRASH_FILE


def test_a_crash_family_that_leaves_the_primaries_out_is_refused(workspace: Workspace) -> None:
    _edit(workspace, TAXONOMY_FILE, lambda d: d.__setitem__("crash_family", "splash"))
    with pytest.raises(DrumgateError) as caught:
        load_taxonomy(workspace)
    assert "has primary 'crash', which is not in the crash family 'splash'" in caught.value.message

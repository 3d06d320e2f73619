from __future__ import annotations

import json

import pytest

from drumgate.errors import DrumgateError
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace


def test_aliases_resolve_to_ids(workspace: Workspace) -> None:
    taxonomy = load_taxonomy(workspace)
    assert taxonomy.resolve_class("KD") == "kick"
    assert taxonomy.resolve_class("Hi-Hat") == "hihat"
    assert taxonomy.resolve_class("floor tom") == "tom_floor"
    assert taxonomy.resolve_technique("side stick") == "cross_stick"
    assert taxonomy.resolve_class("theremin") is None


def test_techniques_allowed_through_parents(workspace: Workspace) -> None:
    taxonomy = load_taxonomy(workspace)
    assert taxonomy.technique_allowed("rimshot", "tom_floor")
    assert taxonomy.technique_allowed("bell", "ride")
    assert taxonomy.technique_allowed("choke", "splash")
    assert not taxonomy.technique_allowed("rimshot", "hihat")
    assert not taxonomy.technique_allowed("open", "snare")
    assert not taxonomy.technique_allowed("nonsense", "snare")


def test_vocabulary_mapping_uses_class_and_techniques(workspace: Workspace) -> None:
    taxonomy = load_taxonomy(workspace)
    assert taxonomy.to_vocabulary("adtof5", "tom_high") == "TT"
    assert taxonomy.to_vocabulary("adtof5", "china") == "CY+RD"
    assert taxonomy.to_vocabulary("adtof5", "clap") == "SD"
    assert taxonomy.to_vocabulary("adtof5", "cowbell") is None
    assert taxonomy.to_vocabulary("vogl18", "hihat", ["pedal"]) == "PHH"
    assert taxonomy.to_vocabulary("vogl18", "hihat", ["half_open"]) == "OHH"
    assert taxonomy.to_vocabulary("vogl18", "hihat", ["closed"]) == "HH"
    assert taxonomy.to_vocabulary("vogl18", "snare", ["cross_stick"]) == "SS"
    assert taxonomy.to_vocabulary("vogl8", "ride", ["bell"]) == "BE"
    assert len(taxonomy.vocabulary("vogl18").labels) == 18
    assert len(taxonomy.vocabulary("adtof5").labels) == 5
    assert len(taxonomy.vocabulary("vogl8").labels) == 8


def test_crash_family_and_dual_labels(workspace: Workspace) -> None:
    taxonomy = load_taxonomy(workspace)
    assert taxonomy.is_crash_family("splash")
    assert not taxonomy.is_crash_family("ride")
    label = taxonomy.crash_labels("china")
    assert label is not None and (label.primary, label.secondary) == ("crash", "china")
    assert taxonomy.crash_labels("gong") is None


def _edit_taxonomy(workspace: Workspace, change: object) -> None:
    path = workspace.configs / "technique_taxonomy.json"
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["classes"].append({"id": "kick"}), "duplicate class id 'kick'"),
        (lambda d: d["classes"].append({"id": "gong", "parent": "metal"}), "unknown parent 'metal'"),
        (
            lambda d: d["techniques"].append({"id": "slap", "applies_to": ["cajon"]}),
            "applies to unknown class 'cajon'",
        ),
        (lambda d: d["classes"].append({"id": "gong", "aliases": ["kd"]}), "names both 'kick' and 'gong'"),
        (
            lambda d: d["classes"].extend([{"id": "a_x", "parent": "b_x"}, {"id": "b_x", "parent": "a_x"}]),
            "cycle",
        ),
        (lambda d: d["classes"].append({"id": "Bad Id"}), "classes/21/id"),
    ],
)
def test_malformed_taxonomy_is_one_clear_error(workspace: Workspace, change: object, expected: str) -> None:
    _edit_taxonomy(workspace, change)
    with pytest.raises(DrumgateError) as info:
        load_taxonomy(workspace)
    message = str(info.value)
    assert message.startswith(str(workspace.configs / "technique_taxonomy.json"))
    assert expected in message
    assert " (fix: " in message, "a loader error names its way out, as the hook's does"


def test_crash_map_to_unknown_class_fails(workspace: Workspace) -> None:
    path = workspace.configs / "crash_dual_label.json"
    data = json.loads(path.read_text())
    data["variants"]["gong"] = {"primary": "crash", "secondary": "gong"}
    path.write_text(json.dumps(data))
    with pytest.raises(DrumgateError, match="crash variant 'gong' maps to unknown class 'gong'") as info:
        load_taxonomy(workspace)
    assert str(info.value).startswith(str(path))


def test_repro_stops_at_a_broken_taxonomy_before_it_plans(workspace: Workspace, capsys) -> None:
    """`repro --dry-run` exited 0 with a plan of steps that would each stop at the taxonomy."""
    from drumgate import cli

    _edit_taxonomy(workspace, lambda d: d["classes"].append({"id": "kick"}))
    assert cli.main(["repro", "--dry-run"]) == 2
    out, err = capsys.readouterr()
    assert "duplicate class id 'kick' (fix: edit technique_taxonomy.json" in err and "drumgate ingest" not in out

"""A taxonomy that renames the `hihat` class keeps the old name as an alias (as the taxonomy hook
advises). The hat inference follows the alias (`Taxonomy.is_hihat`): E-GMD's half-open and open hats
from the pedal's CC4 stay what they were, under the new class id."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from drumgate import cli
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import Workspace

NEW_ID = "hi_hat"


def rename_hihat(ws: Workspace) -> None:
    """`hihat` -> `hi_hat` in the taxonomy (old name kept as an alias) and in the E-GMD note map."""
    taxonomy_path = ws.configs / "technique_taxonomy.json"
    taxonomy = json.loads(taxonomy_path.read_text(encoding="utf-8"))
    for entry in taxonomy["classes"]:
        if entry["id"] == "hihat":
            entry["id"] = NEW_ID
            entry["aliases"].append("hihat")
    for technique in taxonomy["techniques"]:
        technique["applies_to"] = [NEW_ID if name == "hihat" else name for name in technique["applies_to"]]
    for vocabulary in taxonomy["vocabularies"].values():
        for rule in vocabulary["rules"]:
            rule["classes"] = [NEW_ID if name == "hihat" else name for name in rule["classes"]]
    taxonomy_path.write_text(json.dumps(taxonomy, indent=2) + "\n", encoding="utf-8")
    note_map_path = ws.configs / "roland_note_map.json"
    note_map = json.loads(note_map_path.read_text(encoding="utf-8"))
    for note in note_map["notes"].values():
        if note["class"] == "hihat":
            note["class"] = NEW_ID
    note_map_path.write_text(json.dumps(note_map, indent=2) + "\n", encoding="utf-8")


def _hat_techniques(rows: list[dict[str, Any]], class_id: str) -> Counter[tuple[str, ...]]:
    return Counter(tuple(row["techniques"]) for row in rows if row["label"] == class_id)


def test_egmd_hat_openness_follows_a_renamed_hihat(workspace: Workspace) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=3, performances=3, kits=1)
    manifest = workspace.root / "data" / "manifests" / "egmd_events.jsonl"
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    before = _hat_techniques(read_jsonl(manifest), "hihat")
    assert any("half_open" in key or "open" in key for key in before), "the corpus opens the hat"

    rename_hihat(workspace)
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    after = read_jsonl(manifest)
    assert _hat_techniques(after, NEW_ID) == before
    assert not any(row["label"] == "hihat" for row in after)

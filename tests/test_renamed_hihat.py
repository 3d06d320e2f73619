"""A taxonomy that renames the `hihat` class keeps the old name as an alias (as the taxonomy hook
advises). The hat inference follows the alias (`Taxonomy.is_hihat`): E-GMD's half-open and open hats
from the pedal's CC4 stay what they were, under the new class id."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
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


def rename_hihat_in_cambridge_configs(ws: Workspace) -> None:
    """The Cambridge configs that name `hihat`, renamed as a team would after `rename_hihat`."""
    def edit(name: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = ws.configs / name
        document = json.loads(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    def renamed(names: list[str]) -> list[str]:
        return [NEW_ID if name == "hihat" else name for name in names]

    def stems(document: dict[str, Any]) -> None:
        for rule in document["rules"]:
            if rule["instrument"] == "hihat":
                rule["instrument"] = NEW_ID

    def onsets(document: dict[str, Any]) -> None:
        document["per_class"][NEW_ID] = document["per_class"].pop("hihat")

    def events(document: dict[str, Any]) -> None:
        for key in ("classes", "struck_classes"):
            document["cross_mic"][key] = renamed(document["cross_mic"][key])

    edit("stem_names.json", stems)
    edit("onsets.json", onsets)
    edit("cambridge_events.json", events)


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


def test_musdb_transcribed_hats_follow_a_renamed_hihat(workspace: Workspace) -> None:
    from drumgate.fixtures.musdb import make_musdb_corpus

    make_musdb_corpus(workspace.root / "data" / "raw" / "musdb_hq", seed=3, seconds=2.0)
    manifest = workspace.root / "data" / "manifests" / "musdb_hq_events.jsonl"
    assert cli.main(["ingest", "musdb"]) == 0
    before = Counter(row["label"] for row in read_jsonl(manifest))
    assert before["hihat"] > 0, "the corpus plays hats"

    rename_hihat(workspace)
    assert cli.main(["ingest", "musdb"]) == 0
    after = Counter(row["label"] for row in read_jsonl(manifest))
    assert after[NEW_ID] == before.pop("hihat") and "hihat" not in after
    assert {label: n for label, n in after.items() if label != NEW_ID} == before


def test_cambridge_hat_openness_follows_a_renamed_hihat(workspace: Workspace) -> None:
    from drumgate.fixtures.cambridge import make_cambridge_corpus

    raw = workspace.root / "data" / "raw"
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=1)
    manifest = workspace.root / "data" / "manifests" / "cambridge_events.jsonl"
    assert cli.main(["ingest", "cambridge"]) == 0 and cli.main(["events", "cambridge"]) == 0
    before = _hat_techniques(read_jsonl(manifest), "hihat")
    assert any("open" in key for key in before) and any("closed" in key for key in before)

    rename_hihat(workspace)
    rename_hihat_in_cambridge_configs(workspace)
    assert cli.main(["ingest", "cambridge"]) == 0 and cli.main(["events", "cambridge"]) == 0
    assert _hat_techniques(read_jsonl(manifest), NEW_ID) == before

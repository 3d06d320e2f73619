"""The pipelines find the hi-hat through the name `hihat` (a class id or an alias): a taxonomy that
renames it without keeping the alias is refused at load, by the taxonomy hook and every command, rather
than silently dropping hat openness. With the alias kept, configs that still say `hihat` (the E-GMD
note map, MDB Drums' labels) name the renamed class, and the hats keep their techniques."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from drumgate import cli
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io.jsonio import read_jsonl
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest.egmd.note_map import note_map_problems

NEW_ID = "hats"
TAXONOMY = "configs/technique_taxonomy.json"


def _edit(ws: Workspace, name: str, change: Any) -> None:
    path = ws.configs / name
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def rename_hihat_in_taxonomy(ws: Workspace, keep_alias: bool) -> None:
    """`hihat` -> `hats` in the taxonomy only (its techniques and vocabularies follow)."""
    def change(taxonomy: dict[str, Any]) -> None:
        for entry in taxonomy["classes"]:
            if entry["id"] == "hihat":
                entry["id"] = NEW_ID
                entry["aliases"] = [*entry["aliases"], "hihat"] if keep_alias else entry["aliases"]
        for technique in taxonomy["techniques"]:
            technique["applies_to"] = [NEW_ID if name == "hihat" else name for name in technique["applies_to"]]
        for vocabulary in taxonomy["vocabularies"].values():
            for rule in vocabulary["rules"]:
                rule["classes"] = [NEW_ID if name == "hihat" else name for name in rule["classes"]]

    _edit(ws, "technique_taxonomy.json", change)


def _hat_techniques(rows: list[dict[str, Any]], class_id: str) -> Counter[tuple[str, ...]]:
    return Counter(tuple(row["techniques"]) for row in rows if row["label"] == class_id)


def test_a_taxonomy_without_hihat_stops_every_command_with_one_line(workspace: Workspace,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=3, performances=1, kits=1)
    rename_hihat_in_taxonomy(workspace, keep_alias=False)
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{TAXONOMY}: no class is named or aliased 'hihat'"), err
    assert "add 'hihat' to the aliases of your hi-hat class" in err[0] and "(fix: " in err[0]
    assert "Traceback" not in err[0]


def test_the_taxonomy_hook_names_a_hihat_renamed_without_its_alias(workspace: Workspace,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rename_hihat_in_taxonomy(workspace, keep_alias=False)
    assert cli.main(["hook", "taxonomy", TAXONOMY]) != 0
    out = capsys.readouterr()
    assert any(line.startswith(f"{TAXONOMY}: no class is named or aliased 'hihat'")
               for line in (out.out + out.err).splitlines()), out


def test_a_hihat_renamed_with_its_alias_keeps_egmd_hat_techniques(workspace: Workspace) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=3, performances=3, kits=1)
    manifest = workspace.root / "data" / "manifests" / "egmd_events.jsonl"
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    before = _hat_techniques(read_jsonl(manifest), "hihat")
    assert any("half_open" in key for key in before) and any("open" in key for key in before)

    rename_hihat_in_taxonomy(workspace, keep_alias=True)  # the note map still says 'hihat', now an alias
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    after = read_jsonl(manifest)
    assert _hat_techniques(after, NEW_ID) == before
    assert not any(row["label"] == "hihat" for row in after)


def test_note_map_class_findings_give_the_id_meant(workspace: Workspace) -> None:
    raw = json.loads((workspace.configs / "roland_note_map.json").read_text(encoding="utf-8"))
    raw["notes"]["42"]["class"] = "hihats"
    problems = note_map_problems(raw, load_taxonomy(workspace))
    assert problems == [("notes/42: class 'hihats' is not in the taxonomy",
                         "fix: write 'hihat' as note 42's class in configs/roland_note_map.json")]


def test_a_crash_note_without_a_variant_is_one_line_with_a_fix(workspace: Workspace,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=3, performances=1, kits=1)
    _edit(workspace, "roland_note_map.json", lambda raw: raw["notes"]["49"].pop("variant"))
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("configs/roland_note_map.json: notes/49: crash-family note needs a"
                                               " variant"), err
    assert "(fix: give note 49 a \"variant\" of configs/crash_dual_label.json (" in err[0]
    assert "crash_1" in err[0]
    # followed as printed, the ingest runs
    _edit(workspace, "roland_note_map.json", lambda raw: raw["notes"]["49"].update(variant="crash_1"))
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0


def test_an_unknown_crash_variant_has_a_fix(workspace: Workspace) -> None:
    raw = json.loads((workspace.configs / "roland_note_map.json").read_text(encoding="utf-8"))
    raw["notes"]["49"]["variant"] = "crash1"
    problems = note_map_problems(raw, load_taxonomy(workspace))
    assert problems == [("notes/49: variant 'crash1' is not in the crash dual-label map",
                         "fix: write 'crash_1' as note 49's variant in configs/roland_note_map.json, or add 'crash1'"
                         " to the variants of configs/crash_dual_label.json")]

"""`drumgate migrate --json`: one JSON document on stdout naming each migrated file and its folder."""

from __future__ import annotations

import json

from drumgate import cli, events
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import Workspace


def test_migrate_json_names_the_folder_and_keeps_every_row(workspace: Workspace, capsys) -> None:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=5, performances=3, kits=2)
    assert cli.main(["ingest", "egmd", "--jobs", "1", "--layout", "file"]) == 0
    single = workspace.root / "data" / "manifests" / "egmd_events.jsonl"
    rows = read_jsonl(single)
    capsys.readouterr()
    assert cli.main(["migrate", "data/manifests/egmd_events.jsonl", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document["migrated"], list) and len(document["migrated"]) == 1
    assert "egmd_events" in json.dumps(document["migrated"][0])
    assert not single.exists()
    assert list(events.read(workspace.root / "data" / "manifests" / "egmd_events")) == rows

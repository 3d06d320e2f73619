"""Song keys and the MUSDB/Cambridge/MDB Drums overlap list on constructed names."""

from __future__ import annotations

import pytest

from drumgate.reports.overlap import find_overlaps, load_overlap_config, normalise_name, song_key
from drumgate.workspace import Workspace


@pytest.fixture
def config(workspace: Workspace):
    return load_overlap_config(workspace)


def test_normalise_name_keeps_ascii_alphanumerics() -> None:
    assert normalise_name("Atlantis Bound - It Was My Fault For Waiting") == "atlantisbounditwasmyfaultforwaiting"
    assert normalise_name("Johnny Lokke - Promises & Lies") == "johnnylokkepromisesandlies"
    assert normalise_name("Fergessen - Nos Palpitants") == normalise_name("Fergessen_NosPalpitants")
    assert normalise_name("Café Noir") == "cafenoir"


def test_song_key_agrees_across_datasets(config) -> None:
    musdb = song_key("musdb_hq", "Atlantis Bound - It Was My Fault For Waiting", config)
    assert musdb == song_key("cambridge", "atlantisbound_itwasmyfaultforwaiting", config)
    assert musdb == song_key("cambridge", "AtlantisBound_ItWasMyFaultForWaiting_Full", config)
    assert song_key("musdb_hq", "Music Delta - 80s Rock", config) == song_key("mdb_drums", "MusicDelta_80sRock", config)
    assert song_key("mdb_drums", "MusicDelta_Rock_Drum", config) == "musicdeltarock"
    assert song_key("egmd", "drummer1/eval_session/1", config) == "egmd:drummer1evalsession1"


def test_alias_table_mends_spelling_quirks(config) -> None:
    assert song_key("musdb_hq", "Al James - Schoolboy Facination", config) == song_key(
        "cambridge", "AlJames_SchoolboyFascination_Excerpt", config
    )


def test_overlap_list(config) -> None:
    musdb_tracks = [
        "Al James - Schoolboy Facination",
        "Atlantis Bound - It Was My Fault For Waiting",
        "Music Delta - Punk",
        "Music Delta - Rockabilly",
        "Music Delta - Punk Rock Is Not On The List",
        "Meaxic - Take A Step",
    ]
    cambridge = ["AlJames_SchoolboyFascination_Full", "atlantisbound_itwasmyfaultforwaiting", "Other_Song_Full"]
    report = find_overlaps(musdb_tracks, cambridge, config)
    assert report.cambridge == (
        ("Al James - Schoolboy Facination", "AlJames_SchoolboyFascination_Full"),
        ("Atlantis Bound - It Was My Fault For Waiting", "atlantisbound_itwasmyfaultforwaiting"),
    )
    assert report.mdb_drums == ("Music Delta - Punk", "Music Delta - Rockabilly")
    assert len(report.lines()) == 4


def test_config_lists_match_domain_facts(workspace: Workspace) -> None:
    from ingest.musdb import load_settings

    raw = load_settings(workspace).raw
    assert len(raw["validation_tracks"]) == 14
    assert len(raw["mdb_drums_overlap"]) == 12
    assert set(raw["errata"]) == {"Detsky Sad - Walkie Talkie", "Leaf - Wicked", "PR - Oh No"}

"""Stem-name rules for real Cambridge spellings, their exclusions, and `drumgate stems --explain`.

Decisions these tests pin (docs/cambridge.md, "Stem names"): a name that names a non-drum
instrument is non-drum even beside a drum word (`Snare-like synth`); tambourine, shaker and the
other auxiliary percussion keep their own `percussion` family (never a kit family); trigger tracks
are samples of their piece; an overdub `<Piece>OD_<Mic>` belongs to the piece that was played.
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.errors import DrumgateError
from drumgate.io.jsonio import read_json
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest.cambridge.sessions import apply_session_rules
from ingest.cambridge.stems import DRUM_FAMILIES, StemRules, load_stem_rules

# how free-form sessions wrap a mic name: a group prefix before it, the mic model or side after it
GROUP_PREFIXES = ("", "Drums-", "DRUM ", "DRUMS - ", "Drums1", "Drumkit2_", "NBATG - ", "BR - DRUMS-")
MIC_SUFFIXES = ("", "-M82", " - M60.L", "_M81-SH_API1608", ".20_01")
PIECES = {
    "kick": ("Kick In", "KICK O", "KickMic1", "KickMic2", "KickInMic2", "Kick2Out", "KickBatter", "BassDrum"),
    "snare": ("Snare Top", "SNARE B", "SnareUpMic2", "SnareUp1", "Snare Bottom", "Side Snare", "Snare2Under"),
    "hihat": ("Hat", "HI HAT", "Hi Hats", "HiHatOpen", "HHat"),
    "tom": ("Tom1", "TOM 2", "Tom3", "Tom4", "Tom5", "Tom6", "TomHi", "TomLo", "FloorTom2", "Floor Tom",
            "Rack Tom 2", "Rack1"),
    "overhead": ("OH L", "Overheads", "OVERHEAD LEFT", "Over Far", "Mono Over", "OverheadsStereo"),
    "room": ("Room", "RoomMono1", "Room L", "Amb2", "Chamber"),
    "cymbal": ("Ride", "Crash2", "ChinaCymbal", "Splash", "Cymbals"),
}
NEEDS_A_GROUP = {"Chamber", "Rack1"}  # bare, these words do not say drums


def generated_names() -> list[tuple[str, str]]:
    names = []
    for (family, pieces), prefix, suffix in itertools.product(PIECES.items(), GROUP_PREFIXES, MIC_SUFFIXES):
        for index, piece in enumerate(pieces, start=1):
            if "drum" in prefix.lower() or piece not in NEEDS_A_GROUP:
                names.append((f"{index:02d}_{prefix}{piece}{suffix}.wav", family))
    return names


@pytest.fixture
def rules(workspace: Workspace) -> StemRules:
    return load_stem_rules(workspace, set(load_taxonomy(workspace).classes))


def test_every_generated_spelling_maps_to_its_family(rules: StemRules) -> None:
    wrong = []
    for name, family in generated_names():
        found = rules.match(name)
        if found is None or found.family != family:
            wrong.append((name, family, found.rule if found else None))
    assert wrong == []
    assert len(generated_names()) > 1000


@pytest.mark.parametrize(("name", "instrument", "role"), [
    ("KickTrigger.wav", "kick", "sample"), ("KickTrigger2", "kick", "sample"), ("SnareTrig", "snare", "sample"),
    ("Tom1Trigger", "tom_high", "sample"), ("Drums-Tom2-M81-Samp.wav", "tom_mid", "sample"),
    ("TomHi", "tom_high", "close"), ("TomLo", "tom_low", "close"), ("FloorTom2", "tom_floor", "close"),
    ("Tom4", "tom", "close"), ("Tom6", "tom", "close"), ("Drums-Floor-M81.wav", "tom_floor", "close"),
    ("DRUMS - Overheads - M60.L.wav", "cymbal", "overhead"), ("Overheads.L.wav", "cymbal", "overhead"),
    ("Drums-Kick In-M82.wav", "kick", "close"), ("K I_04-07.wav", "kick", "close"),
    ("SN T_04-07.wav", "snare", "close"), ("SnareOD_Room", "snare", "close"), ("TomsOD1_Overheads", "tom", "close"),
    ("Rimshot1", "snare", "close"), ("DrumsSquashMic", None, "room"), ("KickFX", "kick", "effect"),
])
def test_real_spellings(rules: StemRules, name: str, instrument: str | None, role: str) -> None:
    found = rules.match(name)
    assert found is not None and (found.instrument, found.role) == (instrument, role)


@pytest.mark.parametrize(("name", "family"), [
    ("Bass DI", "non_drum"), ("Snare-like synth", "non_drum"), ("SnareSynth", "non_drum"),
    ("SD BASS-DI-LACHAPELL.wav", "non_drum"), ("SD VOX-LEAD-M80-1081.wav", "non_drum"),
    ("Room-Piano-U47.wav", "non_drum"), ("ElecGtr1Room", "non_drum"), ("Vocals-Drums-M81.wav", "non_drum"),
    ("Tambourine", "percussion"), ("Tambourine1Room", "percussion"), ("Conga_Room", "percussion"),
    ("Djembe 1_M80-SH_01.wav", "percussion"),
])
def test_non_drum_and_percussion_never_get_a_kit_family(rules: StemRules, name: str, family: str) -> None:
    found = rules.match(name)
    assert found is not None and found.family == family and found.family not in DRUM_FAMILIES


@pytest.mark.parametrize("name", [
    "Drums", "Drums1", "DrumLoop 2", "Loop1Drums", "DrumMic1", "Drums-Mono-CU29.wav", "KickSnare", "HiHatRide",
    "DrumsLeakage",
])
def test_deliberate_exclusions_carry_their_reason(rules: StemRules, workspace: Workspace, name: str) -> None:
    found = rules.match(name)
    assert found is not None and found.role == "excluded" and found.family == "excluded"
    written = read_json(workspace.configs / "stem_names.json")["rules"][found.index]
    assert (written["name"], written["reason"]) == (found.rule, found.reason)


def test_match_names_the_rule_as_written(rules: StemRules, workspace: Workspace) -> None:
    written = read_json(workspace.configs / "stem_names.json")["rules"]
    for name, _family in generated_names()[:50]:
        found = rules.match(name)
        assert found is not None
        assert (written[found.index]["name"], written[found.index]["pattern"]) == (found.rule, found.pattern)
        assert not any(rule.pattern.search(rules.stem_name(name)) for rule in rules.rules[: found.index])


def _write_config(workspace: Workspace, change: dict) -> None:
    path = workspace.configs / "stem_names.json"
    document = read_json(path)
    document.update(change)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(("change", "message"), [
    ({"rules": [{"name": "x", "pattern": "^x$", "instrument": None, "role": "excluded"}]}, "reason"),
    ({"rules": [{"name": "x", "pattern": "^x$", "instrument": "kick", "role": "close", "reason": "not excluded"}]},
     "rules/0"),
    ({"rules": [{"name": "x", "pattern": "^{nope}x$", "instrument": None, "role": "room"}]}, "unknown macro {nope}"),
    ({"macros": {"a": "{b}", "b": "{a}"}, "rules": [{"name": "x", "pattern": "{a}", "instrument": None,
                                                     "role": "room"}]}, "nested"),
    ({"rules": [{"name": "x", "pattern": "^x$", "instrument": None, "role": "room"},
                {"name": "x", "pattern": "^y$", "instrument": None, "role": "room"}]}, "second rule"),
])
def test_bad_rules_are_one_line(workspace: Workspace, change: dict, message: str) -> None:
    _write_config(workspace, change)
    with pytest.raises(DrumgateError) as caught:
        load_stem_rules(workspace)
    assert message in str(caught.value) and "stem_names.json" in str(caught.value)


def test_explain_prints_each_name_with_its_rule(rules: StemRules, workspace: Workspace, capsys) -> None:
    assert cli.main(["stems", "--explain", "KickMic1", "Theremin", "Tom9Gizmo", "Drums"]) == 0
    out = capsys.readouterr().out.splitlines()
    kick = rules.match("KickMic1")
    assert kick is not None
    assert out[0] == f"KickMic1 | kick | kick/close | rule {kick.index} {kick.rule} | {kick.pattern}"
    assert out[1:3] == ["Theremin | unmatched", "Tom9Gizmo | unmatched"]
    assert out[3].startswith("Drums | excluded | -/excluded | rule ") and "| excluded: " in out[3]
    assert "4 names: kick 1, excluded 1, unmatched 2" in out
    drum_looking = out.index(next(line for line in out if line.startswith("unmatched names that look drum-related")))
    assert out[drum_looking + 1:] == ["  Tom9Gizmo (1x)"]  # Theremin has no kit word


def test_json_reads_files_and_stdin(workspace: Workspace, tmp_path, monkeypatch, capsys) -> None:
    listed = tmp_path / "names.txt"
    listed.write_text("01_KickMic2.wav\n\n02_Bass DI.wav\n03_Tom5.wav\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"SnareUpMic2\nTomSnarl\n")))
    assert cli.main(["stems", "--json", "--explain", str(listed), "-", "OH L"]) == 0
    document = json.loads(capsys.readouterr().out)
    entries = document["names"]
    assert [e["name"] for e in entries] == [
        "01_KickMic2.wav", "02_Bass DI.wav", "03_Tom5.wav", "SnareUpMic2", "TomSnarl", "OH L"]
    assert [e["family"] for e in entries] == ["kick", "non_drum", "tom", "snare", "unmatched", "overhead"]
    assert entries[0]["stem"] == "KickMic2" and entries[0]["rule"] == "kick" and entries[4]["rule"] is None
    summary = document["summary"]
    assert summary["names"] == len(entries) == sum(summary["families"].values())
    assert summary["unmatched_drum_looking_names"] == ["TomSnarl"]


def test_summary_without_explain_and_unreadable_list(workspace: Workspace, tmp_path, capsys) -> None:
    assert cli.main(["stems", "Kick", "Snare"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2 names: kick 1, snare 1"
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"Kick\n\xff\xfeSnare\n")
    assert cli.main(["stems", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(broken) in err and "not UTF-8" in err and "Traceback" not in err


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_a_blank_argument_is_refused_with_a_fix_that_runs(
        blank: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """`drumgate stems ""` read the current folder as the name list (`. is a folder`); `" "` counted a
    name that no list would hold (a list's blank lines are skipped)."""
    assert cli.main(["stems", "Kick", blank]) == 2
    err = capsys.readouterr().err
    assert err == (f"stems: an argument is blank ({blank!r}), not a stem name (fix: drumgate stems NAME, or"
                   " drumgate stems - to read the names from stdin)\n"), err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Kick\n")))
    assert cli.main(["stems", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "1 name: kick 1"


def test_printed_names_stay_on_one_line(workspace: Workspace, capsys) -> None:
    nasty = "Kick\x1b[31m\n::error::x\u202e.wav"
    assert cli.main(["stems", "--explain", nasty]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Kick\\x1b[31m\\n::error::x\\u202e.wav | ") and "\x1b" not in first
    assert cli.main(["stems", "--json", "--explain", nasty]) == 0
    assert json.loads(capsys.readouterr().out)["names"][0]["name"] == nasty


def test_a_mistyped_list_path_is_refused_not_taken_for_a_stem_name(tmp_path: Path) -> None:
    from ingest.cambridge.stem_coverage import read_names

    listed = tmp_path / "names.txt"
    listed.write_text("KickIn\nSnareTop\n", encoding="utf-8")
    assert read_names([str(listed), "OH L"]) == ["KickIn", "SnareTop", "OH L"]
    for wrong, message in ((tmp_path / "nmes.txt", "file not found"), (tmp_path, "is a folder")):
        with pytest.raises(DrumgateError, match=message) as caught:
            read_names([str(wrong)])
        assert caught.value.hint == f"fix: ls {tmp_path} to see what is there"


def _session_instruments(rules: StemRules, file_names: list[str]) -> dict[str, str | None]:
    entries = [{"stem": rules.stem_name(name), "rule": (match := rules.match(name)) and match.rule,
                "instrument": match and match.instrument} for name in file_names]
    apply_session_rules(entries, rules)
    return {entry["stem"]: entry["instrument"] for entry in entries}


def test_a_kit_with_a_fourth_tom_numbers_its_toms_high_to_low(rules: StemRules) -> None:
    # real Cambridge sessions: 52 have a Tom4, 20 a Tom5 (realdata's list of the library's file names)
    four = _session_instruments(rules, ["10_Tom1.wav", "11_Tom2.wav", "12_Tom3.wav", "13_Tom4.wav", "07_HiHat.wav"])
    assert four == {"Tom1": "tom_high", "Tom2": "tom_mid", "Tom3": "tom_low", "Tom4": "tom_floor", "HiHat": "hihat"}
    five = _session_instruments(rules, ["Tom1.wav", "Tom2.wav", "Tom3.wav", "Tom4.wav", "Tom5.wav"])
    assert [five[f"Tom{n}"] for n in range(1, 6)] == ["tom_high", "tom_mid", "tom_low", "tom_floor", "tom_floor"]
    three = _session_instruments(rules, ["Tom1.wav", "Tom2.wav", "Tom3.wav"])
    assert three == {"Tom1": "tom_high", "Tom2": "tom_mid", "Tom3": "tom_floor"}  # no Tom4: Tom3 is the floor tom


def test_a_session_rule_is_recorded_on_the_stems_it_changed(rules: StemRules) -> None:
    entries = [{"rule": "tom3", "instrument": "tom_floor"}, {"rule": "tom_numbered", "instrument": "tom"},
               {"rule": "tom1", "instrument": "tom_high"}]
    apply_session_rules(entries, rules)
    assert [entry.get("session_rule") for entry in entries] == ["four_or_more_toms", "four_or_more_toms", None]


@pytest.mark.parametrize(("session_rule", "message"), [
    ({"name": "s", "when": "nope", "instruments": {"tom3": "tom_low"}, "reason": "a reason long enough"},
     "session_rules/0 (s): no rule is named 'nope'"),
    ({"name": "s", "when": "tom3", "instruments": {"tom3": "tom_lowest"}, "reason": "a reason long enough"},
     "session_rules/0 (s): 'tom_lowest' is not a taxonomy class"),
])
def test_a_bad_session_rule_is_one_line(workspace: Workspace, session_rule: dict, message: str) -> None:
    _write_config(workspace, {"session_rules": [session_rule]})
    with pytest.raises(DrumgateError) as caught:
        load_stem_rules(workspace, set(load_taxonomy(workspace).classes))
    assert message in str(caught.value) and "stem_names.json" in str(caught.value)

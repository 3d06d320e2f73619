from __future__ import annotations

import json

import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.synth import Hit, render
from drumgate.taxonomy import load_taxonomy
from ingest.cambridge.bleed import AttackMeter, StemLevels, own_onsets
from ingest.cambridge.event_settings import load_event_settings
from ingest.cambridge.stem_reader import onset_params_by_class

SR = 44100


def _edit_config(workspace, section: str, key: str, value) -> None:
    path = workspace.configs / "cambridge_events.json"
    raw = json.loads(path.read_text())
    raw[section][key] = value
    path.write_text(json.dumps(raw))


def test_settings_load_from_config(workspace) -> None:
    settings = load_event_settings(workspace)
    assert settings.bleed.margin_db > 0 and settings.techniques.flam_min_s < settings.techniques.flam_max_s
    assert set(settings.confidence) == {"close", "overhead", "percussion", "room", "sample"}
    assert settings.cymbal.sustain.after_delay_s > 0


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("bleed", "margin_db", -1, "bleed/margin_db"),
    ("bleed", "margn_db", 3, "Additional properties"),
    ("techniques", "flam_min_s", 0.05, "flam_min_s must be below flam_max_s"),
])
def test_bad_settings_name_the_config(workspace, section, key, value, message) -> None:
    _edit_config(workspace, section, key, value)
    with pytest.raises(DrumgateError, match=message) as caught:
        load_event_settings(workspace)
    assert str(caught.value.path).endswith("cambridge_events.json")


@pytest.mark.parametrize(("key", "typed", "hint"), [
    ("classes", "hh", "fix: write 'hihat' there"),  # an alias: events carry ids
    ("struck_classes", "snaer", "fix: write 'snare' there"),
])
def test_cross_mic_classes_must_be_class_ids(workspace, key: str, typed: str, hint: str) -> None:
    """A misspelt class would silently leave that class out of the cross-mic test."""
    path = workspace.configs / "cambridge_events.json"
    raw = json.loads(path.read_text())
    raw["cross_mic"][key] = [*raw["cross_mic"][key], typed]
    path.write_text(json.dumps(raw))
    with pytest.raises(DrumgateError) as caught:
        load_event_settings(workspace, load_taxonomy(workspace))
    assert str(caught.value) == (f"{path}: cross_mic.{key} names {typed!r}, which is not a class id of"
                                 f" configs/technique_taxonomy.json ({hint})")


def test_onset_overrides_must_name_class_ids(workspace) -> None:
    path = workspace.configs / "onsets.json"
    raw = json.loads(path.read_text())
    raw["per_class"]["hihta"] = {"delta": 0.05}
    path.write_text(json.dumps(raw))
    with pytest.raises(DrumgateError, match=r"per_class names 'hihta', which is not a class id") as caught:
        onset_params_by_class(workspace, load_taxonomy(workspace))
    assert caught.value.hint == "fix: write 'hihat' there"


def test_attack_meter_ignores_a_ring_and_hears_a_fresh_hit(workspace) -> None:
    level = load_event_settings(workspace).level
    t = np.arange(SR) / SR
    ring = (np.sin(2 * np.pi * 200 * t) * np.exp(-t / 0.5)).astype(np.float32)
    fresh = ring.copy()
    fresh[SR // 2 :] += render([Hit(0.0, "snare", 127)], 0.5, SR, seed=1, noise_floor=0.0)[: SR - SR // 2]
    quiet = AttackMeter(ring, SR, level).levels_db(np.array([0.5]))[0]
    loud = AttackMeter(fresh, SR, level).levels_db(np.array([0.5]))[0]
    assert loud - quiet > 40


def test_a_hit_leaking_into_another_mic_is_dropped_there(workspace) -> None:
    bleed = load_event_settings(workspace).bleed
    snare_times = [0.2, 0.7, 1.2, 1.7]
    tom_times = [0.45, 1.45]
    hits = [Hit(x, "snare", 110) for x in snare_times] + [Hit(x, "tom_high", 110) for x in tom_times]
    hits.append(Hit(0.95, "tom_high", 110))
    hits.append(Hit(0.95, "snare", 110))
    snare_mic = render(hits, 2.2, SR, seed=2, gains={"snare": 1.0, "tom": 0.1})
    tom_mic = render(hits, 2.2, SR, seed=3, gains={"tom_high": 1.0, "snare": 0.2})
    every = np.array(sorted({*snare_times, *tom_times, 0.95}))
    stems = [
        StemLevels("snare", every, AttackMeter(snare_mic, SR, load_event_settings(workspace).level)),
        StemLevels("tom_high", every, AttackMeter(tom_mic, SR, load_event_settings(workspace).level)),
    ]
    snare_keep, tom_keep = own_onsets(stems, bleed)
    assert set(every[snare_keep]) == {*snare_times, 0.95}
    assert set(every[tom_keep]) == {*tom_times, 0.95}

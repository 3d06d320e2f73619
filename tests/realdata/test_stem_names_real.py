"""Stem-name coverage over the 14,161 real Cambridge-MT file names (../shared/realdata).

The names carry no instrument labels; `benchmarks.bench_stem_names.reference_family` reads each
name's words apart from the rules and settles the clear cases: a clearly named drum mic must map
to its family, a clearly non-drum name must never map to a kit family.
"""

from __future__ import annotations

import pytest

from benchmarks.bench_stem_names import NAMES, measure
from ingest.cambridge.stem_coverage import read_names


@pytest.fixture(scope="module")
def measured() -> tuple:
    if not NAMES.is_file():
        pytest.skip(f"{NAMES} is absent")
    return measure(read_names([str(NAMES)]))


def test_the_real_list_is_the_full_population(measured: tuple) -> None:
    coverage, *_ = measured
    assert len(coverage.explained) == 14161
    assert sum(coverage.families.values()) == 14161


def test_no_drum_looking_name_is_left_unmatched(measured: tuple) -> None:
    coverage, *_ = measured
    assert coverage.unmatched_drum_looking == {}


def test_every_clearly_named_drum_mic_maps_to_its_family(measured: tuple) -> None:
    _coverage, figures, missed, _false_positives = measured
    assert missed == []
    assert figures.clear_drum > 3000 and figures.clear_drum_right == figures.clear_drum


def test_no_clearly_non_drum_name_maps_to_a_kit_family(measured: tuple) -> None:
    _coverage, figures, _missed, false_positives = measured
    assert false_positives == []
    assert figures.clear_non_drum > 8000 and figures.non_drum_mapped_to_kit == 0


ISSUE_MISSES = {
    "Tom4": "tom", "Tom5": "tom", "TomHi": "tom", "KickMic1": "kick", "KickMic2": "kick", "KickTrigger": "kick",
    "SnareUpMic1": "snare", "SnareUpMic2": "snare", "DRUMS - Overheads - M60.L": "overhead",
    "Drums-Kick In-M82": "kick",
}


def test_the_issue_s_misses_are_mapped(measured: tuple) -> None:
    coverage, *_ = measured
    by_stem = {item.stem: item.family for item in coverage.explained if item.stem in ISSUE_MISSES}
    assert by_stem == ISSUE_MISSES


def test_every_exclusion_states_a_reason(measured: tuple) -> None:
    coverage, *_ = measured
    excluded = [item for item in coverage.explained if item.family == "excluded"]
    assert excluded and all(item.match is not None and item.match.reason for item in excluded)

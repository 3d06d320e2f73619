"""One wording per gate kind (drumgate.render.gate_wording): the kind is read from the name once."""

from __future__ import annotations

import pytest

from drumgate.render.gate_wording import gate_kind, gate_rule, gate_sentence


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("min_events", "min"),
        ("min_class_events[kick]", "min"),
        ("max_missing_audio_fraction", "max"),
        ("split_bounds[test]", "split_bounds"),
        ("leakage", "leakage"),
        ("source_gates[egmd]", "source_gates"),
        ("leakage_extra", "other"),
    ],
)
def test_the_kind_comes_from_the_name(name: str, kind: str) -> None:
    assert gate_kind(name) == kind


def test_a_sentence_puts_the_verdict_in_the_words() -> None:
    assert gate_sentence("min_events", 1912, 2000, passed=False) == "1,912 < 2,000"
    assert gate_sentence("min_events", 2000, 2000, passed=True) == "2,000 ≥ 2,000"
    assert gate_sentence("max_unknown_label_fraction", 0.25, 0.05, passed=False) == "0.25 > 0.05"
    assert gate_sentence("split_bounds[test]", 0.0, [0.1, 0.7], passed=False) == "share 0 outside [0.1, 0.7]"
    assert gate_sentence("leakage", 0, 0, passed=True) == "no leaks"
    assert gate_sentence("leakage", 1, 0, passed=False) == "1 leak"
    assert gate_sentence("source_gates[egmd]", 2, 0, passed=False) == "fails 2 own gates"
    assert gate_sentence("source_gates[egmd]", 0, 0, passed=True) == "its own gates pass"


def test_a_sentence_uses_the_callers_number_style() -> None:
    assert gate_sentence("min_hours", 1.5, 2, passed=False, number=lambda v: f"<{v}>") == "<1.5> < <2>"
    assert gate_sentence("leakage", 3, 0, passed=False, number=lambda v: f"#{v}") == "#3 leaks"


def test_a_rule_states_the_need_whatever_the_verdict() -> None:
    assert gate_rule("min_class_events[kick]", 1912, 2000) == "observed 1,912, needs ≥ 2,000"
    assert gate_rule("max_missing_audio_fraction", 0.5, 0.1) == "observed 0.5, needs ≤ 0.1"
    assert gate_rule("split_bounds[train]", 0.9, [0.5, 0.8]) == "observed 0.9, needs within 0.5–0.8"
    assert gate_rule("leakage", 2, 0) == "observed 2 leak(s), needs 0"
    assert gate_rule("source_gates[egmd]", 1, 0) == "observed 1, threshold 0"

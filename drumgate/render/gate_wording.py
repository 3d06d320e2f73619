"""How a readiness gate is worded, wherever one is: one reading of a gate's name, one phrase per kind.

A gate's kind follows from its name (`drumgate.reports.gates`): `min_*` and `max_*` thresholds,
`split_bounds[<split>]`, `leakage`, and the combined manifest's `source_gates[<dataset>]`. Two
registers, each with one phrase per kind:

- `gate_sentence`: what the gate saw against what it needs, the verdict in the words
  (`1,912 < 2,000`, `share 0.3333 inside [0.1, 0.7]`, `2 leaks`, `fails 2 own gates`);
- `gate_rule`: the need, whatever the verdict (`observed 1,912, needs ≥ 2,000`), as the Markdown
  reports (diffs, the health summary, the readiness plan) state it.

Numbers go through the caller's formatter (`number`), so each stack keeps its own number style;
the result is plain text for the caller's escaper (gate names are not part of it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drumgate.render.numbers import fmt_number, fmt_threshold
from drumgate.reports.gates import SOURCE_GATE

NumberText = Callable[[Any], str]


def gate_kind(name: Any) -> str:
    """`min`, `max`, `split_bounds`, `leakage`, `source_gates` or `other`, from a gate's name."""
    gate = str(name)
    if gate.startswith("min_"):
        return "min"
    if gate.startswith("max_"):
        return "max"
    if gate.startswith("split_bounds"):
        return "split_bounds"
    if gate == "leakage":
        return "leakage"
    if gate.startswith(f"{SOURCE_GATE}["):
        return SOURCE_GATE
    return "other"


def _whole(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _counted(number: int, word: str, text: NumberText) -> str:
    return f"{text(number)} {word}{'' if number == 1 else 's'}"


def gate_sentence(name: Any, observed: Any, threshold: Any, passed: bool, number: NumberText = fmt_number) -> str:
    """What a gate saw against what it needs, with the verdict: `1,912 < 2,000`, `no leaks`."""
    kind = gate_kind(name)
    if kind == "min":
        return f"{number(observed)} {'≥' if passed else '<'} {number(threshold)}"
    if kind == "max":
        return f"{number(observed)} {'≤' if passed else '>'} {number(threshold)}"
    if kind == "split_bounds":
        return f"share {number(observed)} {'inside' if passed else 'outside'} {number(threshold)}"
    if kind == "leakage":
        leaks = _whole(observed)
        return "no leaks" if leaks == 0 else _counted(leaks, "leak", number)
    if kind == SOURCE_GATE:
        failing = _whole(observed)
        return "its own gates pass" if failing == 0 else f"fails {_counted(failing, 'own gate', number)}"
    return f"observed {number(observed)}, threshold {number(threshold)}"


def gate_rule(name: Any, observed: Any, threshold: Any) -> str:
    """`observed 1,912, needs ≥ 2,000`: the comparison a gate makes, whatever its verdict."""
    kind, seen, needed = gate_kind(name), fmt_number(observed), fmt_threshold(threshold)
    if kind == "min":
        return f"observed {seen}, needs ≥ {needed}"
    if kind == "max":
        return f"observed {seen}, needs ≤ {needed}"
    if kind == "split_bounds":
        return f"observed {seen}, needs within {needed}"
    if kind == "leakage":
        return f"observed {seen} leak(s), needs 0"
    return f"observed {seen}, threshold {needed}"

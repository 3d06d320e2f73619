"""Stem-name coverage over the 14,161 real Cambridge-MT file names (issue 17).

Run: `python -m benchmarks stem_names` (or `python benchmarks/bench_stem_names.py`). Every name is
run through the project's `configs/stem_names.json` (`drumgate stems --explain` does the same for any
list). The full run prints every name with its rule or as unmatched; `--quick` prints only the
counts. Needs ../shared/realdata (relative to the repository root); without it the result says so
and holds no rows.

The names carry no instrument labels, so two figures are measured against a reference reading
written apart from the rules: a name whose words (CamelCase split) hold exactly one kit-piece word
(kick, snare, hi-hat, tom, cymbal, overhead, room) and no instrument, effect, sample or loop word
is a clearly named drum mic of that family; a name holding an instrument word (guitar, vox, bass,
piano, ...) and no kit-piece word is clearly non-drum. Recall is the share of clearly named drum
mics the rules map to that family; a false positive is a clearly non-drum name mapped to a kit
family.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NAMES = ROOT.parent / "shared" / "realdata" / "e_dataset_names" / "cambridge_stem_names.txt"
COMMAND = "python -m benchmarks stem_names"

# the reference reading: plain words, deliberately not the rules' regular expressions
FAMILY_WORDS: dict[str, frozenset[str]] = {
    "kick": frozenset({"kick", "kik", "kck", "bassdrum"}),
    "snare": frozenset({"snare", "sidestick", "rimshot"}),
    "hihat": frozenset({"hihat", "hihats", "hh", "hat", "hats", "highhat"}),
    "tom": frozenset({"tom", "toms", "floortom", "racktom"}),
    "cymbal": frozenset({"cymbal", "cymbals", "ride", "crash", "china", "splash"}),
    "overhead": frozenset({"overhead", "overheads", "oh"}),
    "room": frozenset({"room", "rooms"}),
}
NOT_A_MIC_WORDS = frozenset({
    "fx", "sfx", "reverb", "verb", "delay", "squash", "swell", "swells", "wash", "roll", "rolls", "reverse",
    "reversed", "rev", "sample", "samples", "samp", "trigger", "triggers", "layer", "loop", "loops", "fill", "fills",
    "leakage", "only", "808",
})
# auxiliary percussion: its room or overhead mic is not a kit mic
PERCUSSION_WORDS = frozenset({
    "perc", "percussion", "conga", "congas", "tambourine", "tamb", "clap", "claps", "shaker", "cowbell", "finger",
    "bongo", "bongos", "djembe", "cajon", "timbales", "timpani", "taiko",
})
INSTRUMENT_WORDS = frozenset({
    "bass", "guitar", "guitars", "gtr", "vox", "vocal", "vocals", "voice", "piano", "keys", "keyboard", "synth",
    "organ", "hammond", "leslie", "rhodes", "wurlitzer", "strings", "violin", "viola", "cello", "fiddle", "sax",
    "saxophone", "trumpet", "trombone", "horn", "horns", "flute", "clarinet", "oboe", "tuba", "brass", "choir",
    "banjo", "mandolin", "harmonica", "accordion", "ukulele", "ukelele", "harp", "dobro", "sitar", "mellotron",
    "pad", "lead", "backing", "bv", "bvs", "dulcimer", "didgeridoo", "bagpipe", "whistle",
})


def reference_family(stem: str) -> str | None:
    """`clear_drum:<family>`, `clear_non_drum`, or None when the words do not settle it."""
    from ingest.cambridge.stems import name_words

    words = name_words(stem)
    pairs = {a + b for a, b in itertools.pairwise(words)}
    vocabulary = set(words) | pairs
    if "bassdrum" in pairs:
        vocabulary.discard("bass")
    families = {family for family, spellings in FAMILY_WORDS.items() if vocabulary & spellings}
    has_instrument = bool(vocabulary & INSTRUMENT_WORDS)
    kit_pieces = families - {"overhead", "room"}
    if has_instrument and not kit_pieces:
        return "clear_non_drum"
    if len(families) == 1 and not has_instrument and not vocabulary & (NOT_A_MIC_WORDS | PERCUSSION_WORDS):
        return f"clear_drum:{families.pop()}"
    return None


@dataclass
class Figures:
    clear_drum: int = 0
    clear_drum_right: int = 0
    clear_non_drum: int = 0
    non_drum_mapped_to_kit: int = 0

    @property
    def recall(self) -> float:
        return self.clear_drum_right / self.clear_drum if self.clear_drum else 0.0

    @property
    def false_positive_rate(self) -> float:
        return self.non_drum_mapped_to_kit / self.clear_non_drum if self.clear_non_drum else 0.0


def measure(names: list[str]) -> tuple[Any, Figures, list[str], list[str]]:
    """Coverage, the reference figures, the clearly-drum names missed and the non-drum names mapped."""
    from drumgate.taxonomy import load_taxonomy
    from drumgate.workspace import Workspace
    from ingest.cambridge.stem_coverage import explain_names
    from ingest.cambridge.stems import DRUM_FAMILIES, load_stem_rules

    ws = Workspace(ROOT)
    coverage = explain_names(load_stem_rules(ws, set(load_taxonomy(ws).classes)), names)
    figures = Figures()
    missed: list[str] = []
    false_positives: list[str] = []
    for item in coverage.explained:
        reference = reference_family(item.stem)
        if reference == "clear_non_drum":
            figures.clear_non_drum += 1
            if item.family in DRUM_FAMILIES:
                figures.non_drum_mapped_to_kit += 1
                false_positives.append(item.stem)
        elif reference is not None:
            figures.clear_drum += 1
            if item.family == reference.split(":", 1)[1]:
                figures.clear_drum_right += 1
            else:
                missed.append(item.stem)
    return coverage, figures, sorted(set(missed)), sorted(set(false_positives))


def run(quick: bool) -> dict[str, Any]:
    from ingest.cambridge.stem_coverage import explain_line, read_names

    if not NAMES.is_file():
        return {"command": COMMAND, "rows": [], "notes": [f"{NAMES} is absent: nothing measured"]}
    names = read_names([str(NAMES)])
    coverage, figures, missed, false_positives = measure(names)
    if not quick:
        for item in coverage.explained:
            print(explain_line(item))
    distinct: dict[str, set[str]] = {}
    for item in coverage.explained:
        distinct.setdefault(item.family, set()).add(item.stem)
    families = coverage.families
    rows = [{"family": family, "names": count, "distinct": len(distinct[family])} for family, count in families.items()]
    excluded = [item.match for item in coverage.explained if item.match and item.family == "excluded"]
    excluded_by_rule = Counter(match.rule for match in excluded)
    unmatched_drum = coverage.unmatched_drum_looking
    counts = ", ".join(f"{family} {count}" for family, count in families.items())
    return {
        "command": COMMAND,
        "rows": rows,
        "names": len(names),
        "excluded_by_rule": dict(sorted(excluded_by_rule.items())),
        "unmatched_drum_looking": sum(unmatched_drum.values()),
        "unmatched_drum_looking_names": list(unmatched_drum),
        "clearly_named_drum_mics": figures.clear_drum,
        "drum_mic_recall": round(figures.recall, 4),
        "drum_mics_missed": missed,
        "clearly_non_drum_names": figures.clear_non_drum,
        "non_drum_false_positives": figures.non_drum_mapped_to_kit,
        "non_drum_false_positive_rate": round(figures.false_positive_rate, 4),
        "non_drum_names_mapped_to_kit": false_positives,
        "notes": [
            "every name is printed above with its rule or as unmatched" if not quick else
            "--quick: per-name lines left out (drumgate stems --explain FILE prints them)",
            f"{len(names)} names: {counts}",
            f"unmatched drum-looking names: {sum(unmatched_drum.values())}",
            f"clearly named drum mics mapped to their family: {figures.clear_drum_right}/{figures.clear_drum}; "
            f"clearly non-drum names mapped to a kit family: {figures.non_drum_mapped_to_kit}/{figures.clear_non_drum}",
            "the reference reading is word-based and written apart from the rules (see this module's docstring); "
            "the names carry no instrument labels",
        ],
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from benchmarks.__main__ import print_result

    print(f"$ {COMMAND}")
    print_result("stem_names", run(quick="--quick" in sys.argv))

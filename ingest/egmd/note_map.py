"""The drum note map: each MIDI note's taxonomy class, crash variant, base techniques and pad,
plus the inference settings, as lookup tables over all 128 notes.

`configs/roland_note_map.json` is validated against its schema at load and checked against the
taxonomy (every class, technique and crash variant must exist there).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from drumgate.config import load_config_json
from drumgate.errors import DrumgateError
from drumgate.io.hashing import sha256_file
from drumgate.taxonomy import Taxonomy, name_fix
from drumgate.workspace import Workspace

NOTE_MAP_FILE = "roland_note_map.json"
INFERRED_TECHNIQUES = ("accent", "choke", "closed", "drag", "flam", "ghost", "half_open", "open", "roll")

# rows of NoteMap.note_columns, the per-note lookups the compiled inference reads
MAPPED, PAD, BASE_MASK, ALLOWED_MASK, IS_HIHAT = range(5)
# NoteMap.inference_ints: technique bits, then the integer settings
(OPEN_OR_CLOSED_BIT, HALF_OPEN_BIT, GHOST_BIT, ACCENT_BIT, ROLL_BIT, FLAM_BIT, DRAG_BIT, CHOKE_BIT, DYNAMICS_SKIP_MASK,
 HALF_OPEN_LOW, HALF_OPEN_HIGH, MIN_PAD_NOTES, ROLL_MIN_HITS, CHOKE_MIN_PRESSURE, PADS) = range(15)
# NoteMap.inference_floats
GHOST_RATIO, ACCENT_RATIO, FLAM_WINDOW_S, DRAG_WINDOW_S, GRACE_VELOCITY_RATIO, ROLL_MAX_IOI_S = range(6)


@dataclass(frozen=True)
class NoteSpec:
    note: int
    name: str
    class_id: str
    pad: str
    variant: str | None
    techniques: tuple[str, ...]


@dataclass(frozen=True)
class InferenceParams:
    half_open_cc4: tuple[int, int]
    ghost_ratio: float
    accent_ratio: float
    min_pad_notes: int
    dynamics_skip: tuple[str, ...]
    flam_window_s: float
    drag_window_s: float
    grace_velocity_ratio: float
    roll_max_ioi_s: float
    roll_min_hits: int
    choke_min_pressure: int

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> InferenceParams:
        low, high = raw["hihat"]["half_open_cc4"]
        return cls(
            half_open_cc4=(int(low), int(high)),
            ghost_ratio=float(raw["dynamics"]["ghost_below_median_ratio"]),
            accent_ratio=float(raw["dynamics"]["accent_above_median_ratio"]),
            min_pad_notes=int(raw["dynamics"]["min_pad_notes"]),
            dynamics_skip=tuple(raw["dynamics"]["skip_techniques"]),
            flam_window_s=float(raw["grace"]["flam_window_s"]),
            drag_window_s=float(raw["grace"]["drag_window_s"]),
            grace_velocity_ratio=float(raw["grace"]["grace_velocity_ratio"]),
            roll_max_ioi_s=float(raw["roll"]["max_ioi_s"]),
            roll_min_hits=int(raw["roll"]["min_hits"]),
            choke_min_pressure=int(raw["choke"]["min_pressure"]),
        )


class NoteMap:
    """The note table as lookup arrays over all 128 notes, checked against the taxonomy."""

    def __init__(self, specs: dict[int, NoteSpec], params: InferenceParams, taxonomy: Taxonomy, path: Path) -> None:
        self.specs = specs
        self.params = params
        self.path = path
        self._check(taxonomy)
        # a class named by an alias labels its events with the class id
        self.specs = specs = {note: replace(spec, class_id=taxonomy.resolve_class(spec.class_id) or spec.class_id)
                              for note, spec in specs.items()}
        # a skipped technique no note carries (the only pedal note removed) still gets a bit: it skips nothing
        names = sorted({t for spec in specs.values() for t in spec.techniques} | set(INFERRED_TECHNIQUES)
                       | set(params.dynamics_skip))
        self.technique_names = tuple(names)
        self.bit = {name: 1 << i for i, name in enumerate(names)}
        self.pads = tuple(sorted({spec.pad for spec in specs.values()}))
        self.mapped = np.zeros(128, dtype=bool)
        self.pad_index = np.full(128, -1, dtype=np.int64)
        self.base_mask = np.zeros(128, dtype=np.int64)
        self.allowed_mask = np.zeros(128, dtype=np.int64)
        self.is_hihat = np.zeros(128, dtype=bool)
        self.labels: dict[int, list[str]] = {}
        for note, spec in specs.items():
            self.mapped[note] = True
            self.pad_index[note] = self.pads.index(spec.pad)
            self.base_mask[note] = self.mask_of(spec.techniques)
            allowed = [t for t in names if taxonomy.technique_allowed(t, spec.class_id)]
            self.allowed_mask[note] = self.mask_of(allowed) | self.base_mask[note]
            self.is_hihat[note] = taxonomy.is_hihat(spec.class_id)
            self.labels[note] = self._dual_label(spec, taxonomy)
        self._decoded: dict[int, list[str]] = {}
        self.note_columns = np.stack(
            [self.mapped, self.pad_index, self.base_mask, self.allowed_mask, self.is_hihat]
        ).astype(np.int64)
        self.inference_ints, self.inference_floats = self._inference_settings()

    def _inference_settings(self) -> tuple[np.ndarray, np.ndarray]:
        params = self.params
        bit = self.bit
        ints = [bit["open"] | bit["closed"], bit["half_open"], bit["ghost"], bit["accent"], bit["roll"], bit["flam"],
                bit["drag"], bit["choke"], self.mask_of(list(params.dynamics_skip)), *params.half_open_cc4,
                params.min_pad_notes, params.roll_min_hits, params.choke_min_pressure, len(self.pads)]
        floats = [params.ghost_ratio, params.accent_ratio, params.flam_window_s, params.drag_window_s,
                  params.grace_velocity_ratio, params.roll_max_ioi_s]
        return np.asarray(ints, dtype=np.int64), np.asarray(floats, dtype=np.float64)

    def mask_of(self, techniques: tuple[str, ...] | list[str]) -> int:
        mask = 0
        for name in techniques:
            mask |= self.bit[name]
        return mask

    @staticmethod
    def _dual_label(spec: NoteSpec, taxonomy: Taxonomy) -> list[str]:
        if spec.variant is None:
            return []
        label = taxonomy.crash_labels(spec.variant)
        assert label is not None
        return [label.primary, label.secondary]

    def _check(self, taxonomy: Taxonomy) -> None:
        problems = spec_problems(self.specs, taxonomy) + skip_problems(self.params, taxonomy)
        if problems:
            raise DrumgateError(problems[0][0], path=self.path, hint=problems[0][1])

    def decode(self, mask: int) -> list[str]:
        """Technique names of a bit mask, in alphabetical order (bits are assigned that way)."""
        names = self._decoded.get(mask)
        if names is None:
            names = [name for name in self.technique_names if mask & self.bit[name]]
            self._decoded[mask] = names
        return names


def spec_problems(specs: dict[int, NoteSpec], taxonomy: Taxonomy) -> list[tuple[str, str | None]]:
    """(what is wrong, what to do) for each note whose class, technique or crash variant the taxonomy lacks.
    A class may be named by a taxonomy alias (a renamed class keeps its old name as one)."""
    problems: list[tuple[str, str | None]] = []
    variants = ", ".join(sorted(taxonomy.crash_map))
    for note, spec in sorted(specs.items()):
        where = f"notes/{note}"
        class_id = taxonomy.resolve_class(spec.class_id)
        if class_id is None:
            problems.append((f"{where}: class {spec.class_id!r} is not in the taxonomy",
                             taxonomy.class_fix(spec.class_id, f"as note {note}'s class in configs/{NOTE_MAP_FILE}")))
            continue
        problems.extend((f"{where}: technique {technique!r} does not apply to {class_id!r}",
                         f"fix: remove it from note {note}'s techniques in configs/{NOTE_MAP_FILE}, or add"
                         f" {class_id!r} to its applies_to in configs/technique_taxonomy.json")
                        for technique in spec.techniques if not taxonomy.technique_allowed(technique, class_id))
        if taxonomy.is_crash_family(class_id) and spec.variant is None:
            problems.append((f"{where}: crash-family note needs a variant (its events' dual labels)",
                             f"fix: give note {note} a \"variant\" of configs/crash_dual_label.json ({variants})"
                             f" in configs/{NOTE_MAP_FILE}"))
        if spec.variant is not None and not taxonomy.is_crash_family(class_id):
            problems.append((f"{where}: variant {spec.variant!r} on a {class_id!r} note: only crash-family notes"
                             " carry one (their events' dual labels)",
                             f"fix: remove its variant from configs/{NOTE_MAP_FILE}"))
        if spec.variant is not None and taxonomy.crash_labels(spec.variant) is None:
            fix = name_fix(spec.variant, taxonomy.crash_map, f"as note {note}'s variant in configs/{NOTE_MAP_FILE}",
                           what="crash variants")
            problems.append((f"{where}: variant {spec.variant!r} is not in the crash dual-label map",
                             f"{fix}, or add {spec.variant!r} to the variants of configs/crash_dual_label.json"))
    return problems


def skip_problems(params: InferenceParams, taxonomy: Taxonomy) -> list[tuple[str, str | None]]:
    """(what is wrong, what to do) for each technique the dynamics step skips that the taxonomy lacks."""
    where = "inference/dynamics/skip_techniques"
    return [(f"{where}: technique {name!r} is not in the taxonomy",
             f"fix: remove {name!r} from {where} in configs/{NOTE_MAP_FILE},"
             " or add it to configs/technique_taxonomy.json")
            for name in params.dynamics_skip if name not in taxonomy.techniques]


def note_map_problems(raw: dict[str, Any], taxonomy: Taxonomy) -> list[tuple[str, str | None]]:
    """Every taxonomy problem of a schema-checked `roland_note_map.json` (the taxonomy hook's check)."""
    params = InferenceParams.from_config(raw["inference"])
    return spec_problems(note_specs(raw), taxonomy) + skip_problems(params, taxonomy)


def note_specs(raw: dict[str, Any]) -> dict[int, NoteSpec]:
    """The notes of a schema-checked `roland_note_map.json`."""
    return {
        int(note): NoteSpec(
            int(note), body["name"], body["class"], body["pad"], body.get("variant"), tuple(body["techniques"])
        )
        for note, body in raw["notes"].items()
    }


def note_map_from_dict(raw: dict[str, Any], taxonomy: Taxonomy, path: Path) -> NoteMap:
    return NoteMap(note_specs(raw), InferenceParams.from_config(raw["inference"]), taxonomy, path)


def load_note_map(ws: Workspace, taxonomy: Taxonomy) -> NoteMap:
    path = ws.configs / NOTE_MAP_FILE
    raw = load_config_json(ws, NOTE_MAP_FILE, "roland_note_map")
    return note_map_from_dict(raw, taxonomy, path)


def note_map_hash(ws: Workspace) -> str:
    return sha256_file(ws.configs / NOTE_MAP_FILE)

"""Drum MIDI notes to taxonomy events: the note map and technique inference.

The note map (`configs/roland_note_map.json`, validated at load) gives each MIDI note a taxonomy
class, an optional crash variant, base techniques (rimshot, cross_stick, open/closed/pedal,
bow/edge/bell) and a pad (the physical pad a note belongs to). Inference then adds, per
performance:

- hi-hat `half_open` when the last CC4 before the hit lies in the configured band (CC4 0 is
  open, 127 closed; the module already chose open vs closed in the note number);
- `choke` on the preceding hit of the same pad when polyphonic aftertouch grabs it (never an onset);
- `ghost` / `accent` relative to the median velocity of that pad in this performance (or of the
  whole performance when the pad has few hits);
- `flam` / `drag` on a stroke preceded by one / two softer grace hits on the same pad within the
  window, and `roll` on every hit of a run of fast repeated strokes on one pad.

Unmapped notes are excluded from the events and counted by note number.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from drumgate.config import validate_against_schema
from drumgate.errors import DrumgateError
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import read_json
from drumgate.taxonomy import Taxonomy
from drumgate.workspace import Workspace
from ingest.egmd.midi import MidiPerformance

NOTE_MAP_FILE = "roland_note_map.json"
INFERRED_TECHNIQUES = ("accent", "choke", "closed", "drag", "flam", "ghost", "half_open", "open", "roll")


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
        names = sorted({t for spec in specs.values() for t in spec.techniques} | set(INFERRED_TECHNIQUES))
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
            self.is_hihat[note] = taxonomy.is_a(spec.class_id, "hihat")
            self.labels[note] = self._dual_label(spec, taxonomy)
        self._decoded: dict[int, list[str]] = {}

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
        for note, spec in sorted(self.specs.items()):
            where = f"notes/{note}"
            if spec.class_id not in taxonomy.classes:
                raise DrumgateError(f"{where}: class {spec.class_id!r} is not in the taxonomy", path=self.path)
            for technique in spec.techniques:
                if not taxonomy.technique_allowed(technique, spec.class_id):
                    raise DrumgateError(
                        f"{where}: technique {technique!r} does not apply to {spec.class_id!r}", path=self.path
                    )
            crash = taxonomy.is_crash_family(spec.class_id)
            if crash and spec.variant is None:
                raise DrumgateError(f"{where}: crash-family note needs a variant", path=self.path)
            if spec.variant is not None and taxonomy.crash_labels(spec.variant) is None:
                raise DrumgateError(
                    f"{where}: variant {spec.variant!r} is not in the crash dual-label map",
                    path=self.path,
                    hint="add it to configs/crash_dual_label.json",
                )

    def decode(self, mask: int) -> list[str]:
        """Technique names of a bit mask, in alphabetical order (bits are assigned that way)."""
        names = self._decoded.get(mask)
        if names is None:
            names = [name for name in self.technique_names if mask & self.bit[name]]
            self._decoded[mask] = names
        return names


def note_map_from_dict(raw: dict[str, Any], taxonomy: Taxonomy, path: Path) -> NoteMap:
    specs = {
        int(note): NoteSpec(
            int(note), body["name"], body["class"], body["pad"], body.get("variant"), tuple(body["techniques"])
        )
        for note, body in raw["notes"].items()
    }
    return NoteMap(specs, InferenceParams.from_config(raw["inference"]), taxonomy, path)


def load_note_map(ws: Workspace, taxonomy: Taxonomy) -> NoteMap:
    path = ws.configs / NOTE_MAP_FILE
    raw = read_json(path)
    validate_against_schema(raw, ws.schemas / "roland_note_map.schema.json", path)
    return note_map_from_dict(raw, taxonomy, path)


def note_map_hash(ws: Workspace) -> str:
    return sha256_file(ws.configs / NOTE_MAP_FILE)


@dataclass
class PerformanceEvents:
    """One performance's events as columns; `note_index` points back into the MIDI note-ons."""

    note_index: np.ndarray
    onset_s: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    technique_mask: np.ndarray
    cc4: np.ndarray
    unknown_notes: Counter[int]
    warnings: list[str]

    def __len__(self) -> int:
        return len(self.note_index)


def _last_before(event_order: np.ndarray, query_order: np.ndarray) -> np.ndarray:
    """Index of the last event strictly before each query in file order, -1 when none."""
    return np.searchsorted(event_order, query_order, side="left") - 1


def _hihat_openness(perf: MidiPerformance, pitch: np.ndarray, order: np.ndarray, nm: NoteMap) -> np.ndarray:
    cc4 = np.full(len(pitch), -1, dtype=np.int64)
    if len(perf.cc4_order):
        last = _last_before(perf.cc4_order, order)
        known = last >= 0
        cc4[known] = perf.cc4_value[last[known]]
    cc4[~nm.is_hihat[pitch]] = -1
    return cc4


def _apply_half_open(mask: np.ndarray, cc4: np.ndarray, nm: NoteMap) -> None:
    low, high = nm.params.half_open_cc4
    open_or_closed = nm.bit["open"] | nm.bit["closed"]
    half = ((mask & open_or_closed) != 0) & (cc4 >= low) & (cc4 <= high)
    mask[half] = (mask[half] & ~open_or_closed) | nm.bit["half_open"]


def _apply_dynamics(mask: np.ndarray, velocity: np.ndarray, pad: np.ndarray, nm: NoteMap) -> None:
    params = nm.params
    skip = nm.mask_of(list(params.dynamics_skip))
    considered = (mask & skip) == 0
    if not considered.any():
        return
    overall = float(np.median(velocity[considered]))
    median = np.full(len(velocity), overall)
    for pad_id in np.unique(pad[considered]):
        members = considered & (pad == pad_id)
        if members.sum() >= params.min_pad_notes:
            median[members] = float(np.median(velocity[members]))
    mask[considered & (velocity < params.ghost_ratio * median)] |= nm.bit["ghost"]
    mask[considered & (velocity > params.accent_ratio * median)] |= nm.bit["accent"]


def _apply_grace_and_rolls(
    mask: np.ndarray, onset: np.ndarray, velocity: np.ndarray, pad: np.ndarray, nm: NoteMap
) -> None:
    params = nm.params
    if len(onset) < 2:
        return
    by_pad = np.lexsort((np.arange(len(onset)), pad))
    t = onset[by_pad]
    v = velocity[by_pad].astype(np.float64)
    p = pad[by_pad]
    same1 = np.zeros(len(t), dtype=bool)
    same1[1:] = p[1:] == p[:-1]
    dt1 = np.full(len(t), np.inf)
    dt1[1:] = t[1:] - t[:-1]
    fast = same1 & (dt1 <= params.roll_max_ioi_s)
    run_id = np.cumsum(~fast)
    in_roll = np.bincount(run_id)[run_id] >= params.roll_min_hits
    grace_limit = v * params.grace_velocity_ratio
    v_prev1 = np.full(len(t), np.inf)
    v_prev1[1:] = v[:-1]
    flam = ~in_roll & same1 & (dt1 <= params.flam_window_s) & (v_prev1 < grace_limit)
    same2 = np.zeros(len(t), dtype=bool)
    same2[2:] = same1[2:] & (p[2:] == p[:-2])
    dt2 = np.full(len(t), np.inf)
    dt2[2:] = t[2:] - t[:-2]
    v_prev2 = np.full(len(t), np.inf)
    v_prev2[2:] = v[:-2]
    drag = ~in_roll & same2 & (dt2 <= params.drag_window_s) & (v_prev1 < grace_limit) & (v_prev2 < grace_limit)
    flam &= ~drag
    result = np.zeros(len(t), dtype=np.int64)
    result[in_roll] |= nm.bit["roll"]
    result[flam] |= nm.bit["flam"]
    result[drag] |= nm.bit["drag"]
    mask[by_pad] |= result


def _apply_chokes(
    perf: MidiPerformance, mask: np.ndarray, pitch: np.ndarray, order: np.ndarray, pad: np.ndarray, nm: NoteMap
) -> list[str]:
    warnings: list[str] = []
    for at_pitch, at_order, at_value, at_s in zip(
        perf.aftertouch_pitch.tolist(),
        perf.aftertouch_order.tolist(),
        perf.aftertouch_value.tolist(),
        perf.aftertouch_s.tolist(),
        strict=True,
    ):
        if at_value < nm.params.choke_min_pressure:
            continue
        if not nm.mapped[at_pitch]:
            warnings.append(f"aftertouch on unmapped note {at_pitch} at {at_s:.3f}s ignored")
            continue
        candidates = np.flatnonzero((pad == nm.pad_index[at_pitch]) & (order < at_order))
        if not len(candidates):
            warnings.append(f"choke on note {at_pitch} at {at_s:.3f}s has no preceding hit on its pad")
            continue
        mask[candidates[-1]] |= nm.bit["choke"]
    return warnings


def build_events(perf: MidiPerformance, nm: NoteMap) -> PerformanceEvents:
    mapped = nm.mapped[perf.note_pitch]
    unknown = Counter(perf.note_pitch[~mapped].tolist())
    note_index = np.flatnonzero(mapped)
    pitch = perf.note_pitch[note_index]
    order = perf.note_order[note_index]
    onset = perf.note_s[note_index]
    velocity = perf.note_velocity[note_index]
    pad = nm.pad_index[pitch]
    mask = nm.base_mask[pitch].copy()
    cc4 = _hihat_openness(perf, pitch, order, nm)
    _apply_half_open(mask, cc4, nm)
    warnings = _apply_chokes(perf, mask, pitch, order, pad, nm) if len(perf.aftertouch_order) else []
    _apply_dynamics(mask, velocity, pad, nm)
    _apply_grace_and_rolls(mask, onset, velocity, pad, nm)
    mask &= nm.allowed_mask[pitch]
    return PerformanceEvents(note_index, onset, pitch, velocity, mask, cc4, unknown, warnings)


def class_counts(events: PerformanceEvents, nm: NoteMap) -> Counter[str]:
    """Events per taxonomy class."""
    per_note = np.bincount(events.pitch, minlength=128)
    counts: Counter[str] = Counter()
    for note in np.flatnonzero(per_note).tolist():
        counts[nm.specs[note].class_id] += int(per_note[note])
    return counts


@dataclass(frozen=True)
class EventContext:
    """The per-render fields shared by every event row."""

    dataset: str
    session_id: str
    item_id: str
    split: str
    source_file: str


def event_rows(events: PerformanceEvents, nm: NoteMap, ctx: EventContext) -> Iterator[dict[str, Any]]:
    """Event rows (events.schema.json) in file order."""
    prefix = f"{ctx.dataset}:{ctx.item_id}:"
    specs = nm.specs
    for index, onset, pitch, velocity, mask, cc4 in zip(
        events.note_index.tolist(),
        np.round(events.onset_s, 6).tolist(),
        events.pitch.tolist(),
        events.velocity.tolist(),
        events.technique_mask.tolist(),
        events.cc4.tolist(),
        strict=True,
    ):
        spec = specs[pitch]
        row: dict[str, Any] = {
            "event_id": prefix + str(index),
            "dataset": ctx.dataset,
            "session_id": ctx.session_id,
            "item_id": ctx.item_id,
            "split": ctx.split,
            "onset_s": onset,
            "label": spec.class_id,
            "labels": nm.labels[pitch],
            "techniques": nm.decode(mask),
            "velocity": velocity,
            "label_source": "midi",
            "confidence": 1.0,
            "source": {"file": ctx.source_file, "note": pitch},
        }
        if spec.variant is not None:
            row["variant"] = spec.variant
        if cc4 >= 0:
            row["attributes"] = {"cc4": cc4}
        yield row


def _json(value: Any) -> str:
    """`value` as orjson writes it inside a sorted-key row."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class EventEncoder:
    """Writes the bytes `dumps_row` gives for each `event_rows` row without building the dicts.

    The constant parts of a row are JSON-encoded once per note (or technique mask, or render);
    per event only the note index, onset, velocity and CC4 are formatted. `event_rows` plus
    orjson stays the reference this encoder is tested against byte for byte.
    """

    def __init__(self, nm: NoteMap) -> None:
        self._nm = nm
        self._label_part = {
            pitch: f'"label":{_json(spec.class_id)},"label_source":"midi","labels":{_json(nm.labels[pitch])},'
            f'"onset_s":'
            for pitch, spec in nm.specs.items()
        }
        self._variant_part = {
            pitch: "" if spec.variant is None else f',"variant":{_json(spec.variant)}'
            for pitch, spec in nm.specs.items()
        }
        self._technique_part: dict[int, str] = {}
        self._opening = ["{"] + [f'{{"attributes":{{"cc4":{value}}},' for value in range(128)]

    def _techniques(self, mask: int, pitch: int) -> str:
        key = mask * 128 + pitch
        part = self._technique_part.get(key)
        if part is None:
            part = f'"techniques":{_json(self._nm.decode(mask))}{self._variant_part[pitch]},"velocity":'
            self._technique_part[key] = part
        return part

    def encode(self, events: PerformanceEvents, ctx: EventContext) -> bytes:
        """All rows of `events` for one render, each followed by a newline."""
        if not len(events):
            return b""
        event_id_prefix = _json(f"{ctx.dataset}:{ctx.item_id}:")[:-1]
        head = f'"confidence":1.0,"dataset":{_json(ctx.dataset)},"event_id":{event_id_prefix}'
        item = f'","item_id":{_json(ctx.item_id)},'
        source = f',"session_id":{_json(ctx.session_id)},"source":{{"file":{_json(ctx.source_file)},"note":'
        split = f'}},"split":{_json(ctx.split)},'
        pitches = events.pitch.tolist()
        middle = {p: item + self._label_part[p] for p in set(pitches)}
        keys = (events.technique_mask * 128 + events.pitch).tolist()
        ending = {key: f"{source}{key % 128}{split}{self._techniques(key // 128, key % 128)}" for key in set(keys)}
        onsets = _json(np.round(events.onset_s, 6).tolist())[1:-1].split(",")
        opening = self._opening
        lines = [
            f"{opening[cc4 + 1]}{head}{index}{middle[pitch]}{onset}{ending[key]}{velocity}}}\n"
            for index, onset, pitch, key, velocity, cc4 in zip(
                events.note_index.tolist(),
                onsets,
                pitches,
                keys,
                events.velocity.tolist(),
                events.cc4.tolist(),
                strict=True,
            )
        ]
        return "".join(lines).encode()


def encode_events_reference(events: PerformanceEvents, nm: NoteMap, ctx: EventContext) -> bytes:
    """The reference encoding: one dict per event through orjson with sorted keys."""
    return b"".join(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n" for row in event_rows(events, nm, ctx))


ITEM_SLOT = "\x00\x1f"
_ITEM_SLOT_JSON = orjson.dumps(ITEM_SLOT)[1:-1]
SLOTS_PER_EVENT = 3  # event_id, item_id, source.file


@dataclass(frozen=True)
class RenderTemplate:
    """Encoded rows of one performance with the item id cut out, to be filled in per render.

    Renders of a performance that share MIDI bytes, split and file suffix differ only in the item
    id (inside event_id, item_id and source.file = item id + suffix); JSON escaping works per
    character, so joining the escaped item id between the pieces gives the same bytes.
    """

    pieces: tuple[bytes, ...]
    fixed_bytes: int

    def fill(self, item_id: str) -> bytes:
        return orjson.dumps(item_id)[1:-1].join(self.pieces)

    def filled_size(self, item_id: str) -> int:
        return self.fixed_bytes + (len(self.pieces) - 1) * (len(orjson.dumps(item_id)) - 2)


def render_template(
    encoder: EventEncoder, events: PerformanceEvents, dataset: str, session_id: str, split: str, suffix: str
) -> RenderTemplate | None:
    """The template, or None when the placeholder also occurs in the data (then encode per render)."""
    ctx = EventContext(dataset, session_id, ITEM_SLOT, split, ITEM_SLOT + suffix)
    pieces = encoder.encode(events, ctx).split(_ITEM_SLOT_JSON)
    if len(pieces) != SLOTS_PER_EVENT * len(events) + 1:
        return None
    return RenderTemplate(tuple(pieces), sum(map(len, pieces)))


@dataclass(frozen=True)
class TemplateFill:
    """One render's rows as a template and its item id: small to send, expanded where written."""

    template: RenderTemplate
    item_id: str

    def encode(self) -> bytes:
        return self.template.fill(self.item_id)

    def size(self) -> int:
        return self.template.filled_size(self.item_id)


EncodedEvents = bytes | TemplateFill


def write_encoded(handle: Any, chunks: list[EncodedEvents]) -> None:
    """Write rows in order, expanding template fills."""
    for chunk in chunks:
        handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())


def expand_single_fills(chunks: list[EncodedEvents]) -> list[EncodedEvents]:
    """Fills of a template no other chunk uses become bytes: a template only pays off when shared."""
    uses = Counter(id(chunk.template) for chunk in chunks if isinstance(chunk, TemplateFill))
    return [chunk.encode() if isinstance(chunk, TemplateFill) and uses[id(chunk.template)] == 1 else chunk
            for chunk in chunks]


def encoded_size(chunks: list[EncodedEvents]) -> int:
    """How many bytes `write_encoded` writes for `chunks`, without expanding them."""
    return sum(len(chunk) if isinstance(chunk, bytes) else chunk.size() for chunk in chunks)


def write_encoded_at(fd: int, chunks: list[EncodedEvents], offset: int) -> None:
    """Write rows in order into file descriptor `fd` from `offset` on (pwrite; position untouched)."""
    for chunk in chunks:
        data = memoryview(chunk if isinstance(chunk, bytes) else chunk.encode())
        while data:
            written = os.pwrite(fd, data, offset)
            data, offset = data[written:], offset + written

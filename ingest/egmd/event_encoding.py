"""Drum events to `egmd_events` JSONL bytes: the reference (one dict per row through orjson with
sorted keys) and the fast encoder that writes the same bytes from pre-encoded pieces, plus the
per-performance templates renders of one performance share.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from ingest.egmd.drum_events import PerformanceEvents
from ingest.egmd.note_map import NoteMap


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

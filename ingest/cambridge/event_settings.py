"""The settings of Cambridge event derivation (`configs/cambridge_events.json`, schema-validated):
attack-level windows, the bleed and cross-mic tests, technique thresholds, overhead cymbals,
confidences per stem role."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from drumgate.config import load_config_json
from drumgate.errors import DrumgateError
from drumgate.taxonomy import CRASH_FILE, Taxonomy, name_fix


@dataclass(frozen=True)
class LevelSettings:
    before_s: float
    lookback_s: float
    window_s: float
    after_delay_s: float = 0.0


@dataclass(frozen=True)
class BleedSettings:
    leak_db: float
    margin_db: float
    min_level_db: float
    reference_percentile: float
    signature_range_db: float


@dataclass(frozen=True)
class CrossMicSettings:
    """The cross-mic test (see `cross_mic_keep`)."""

    same_hit_s: float
    classes: tuple[str, ...]
    arrival_window_s: float
    max_lag_s: float
    lead_s: float
    leak_share: float
    leak_percentile: float
    max_leak_db: float
    margin_db: float
    active_range_db: float
    min_unexplained: float
    min_moments: int
    struck_onsets: int
    struck_range_db: float
    min_lead_share: float
    min_level_db: float
    min_gain_over_ring_db: float
    struck_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TechniqueSettings:
    accent_db: float
    flam_max_s: float
    flam_min_s: float
    ghost_db: float
    open_hat_ring_db: float


@dataclass(frozen=True)
class CymbalSettings:
    margin_db: float
    min_level_db: float
    ring_db: float
    sustain: LevelSettings


@dataclass(frozen=True)
class EventSettings:
    level: LevelSettings
    bleed: BleedSettings
    cross_mic: CrossMicSettings
    techniques: TechniqueSettings
    cymbal: CymbalSettings
    confidence: dict[str, float]
    duplicate_s: float
    overhead_variant: str


def _section(cls: type, raw: dict[str, Any]) -> Any:
    return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


def _require_crash_variant(variant: str, taxonomy: Taxonomy, path: Path) -> None:
    """Refuse an `overhead_variant` the crash map cannot label: every overhead cymbal would stop the run."""
    if taxonomy.crash_labels(variant) is not None:
        return
    hint = name_fix(variant, taxonomy.crash_map, what="crash variants")
    raise DrumgateError(f"overhead_variant {variant!r} is not a crash variant of configs/{CRASH_FILE}",
                        path=path, hint=f"{hint}, or add {variant!r} to the variants of configs/{CRASH_FILE}")


def load_event_settings(ws: Any, taxonomy: Taxonomy | None = None) -> EventSettings:
    """`configs/cambridge_events.json`, validated against its schema (and its class lists against
    `taxonomy`, when given)."""
    path = ws.configs / "cambridge_events.json"
    raw = load_config_json(ws, "cambridge_events.json", "cambridge_events")
    if taxonomy is not None:
        for key in ("classes", "struck_classes"):
            taxonomy.require_class_ids(raw["cross_mic"][key], path, f"cross_mic.{key}")
        _require_crash_variant(raw["overhead_variant"], taxonomy, path)
    techniques = _section(TechniqueSettings, raw["techniques"])
    if techniques.flam_min_s >= techniques.flam_max_s:
        raise DrumgateError(
            f"techniques: flam_min_s must be below flam_max_s ({techniques.flam_min_s} >= {techniques.flam_max_s})",
            path=path,
            hint="fix: lower techniques.flam_min_s or raise techniques.flam_max_s there",
        )
    if techniques.ghost_db >= techniques.accent_db:  # a hit at or above accent_db would be called a ghost
        raise DrumgateError(
            f"techniques: ghost_db must be below accent_db ({techniques.ghost_db} >= {techniques.accent_db})",
            path=path,
            hint="fix: lower techniques.ghost_db or raise techniques.accent_db there",
        )
    return EventSettings(
        level=_section(LevelSettings, raw["level"]),
        bleed=_section(BleedSettings, raw["bleed"]),
        cross_mic=_section(
            CrossMicSettings,
            {
                **raw["cross_mic"],
                "classes": tuple(raw["cross_mic"]["classes"]),
                "struck_classes": tuple(raw["cross_mic"]["struck_classes"]),
            },
        ),
        techniques=techniques,
        cymbal=CymbalSettings(
            raw["cymbal"]["margin_db"],
            raw["cymbal"]["min_level_db"],
            raw["cymbal"]["ring_db"],
            _section(LevelSettings, raw["cymbal"]["sustain"]),
        ),
        confidence=dict(raw["confidence"]),
        duplicate_s=float(raw["duplicate_s"]),
        overhead_variant=raw["overhead_variant"],
    )

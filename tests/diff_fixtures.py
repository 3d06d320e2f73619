"""Hand-built reports in the agreed health/weights format (a musdb_hq-shaped day-over-day pair)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _gate(name: str, observed: float, threshold: Any, passed: bool) -> dict[str, Any]:
    return {"name": name, "observed": observed, "status": "pass" if passed else "fail", "threshold": threshold}


def health_report(dataset: str = "musdb_hq", **overrides: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "schema_version": 1,
        "kind": "health",
        "dataset": dataset,
        "vocabulary": None,
        "source": {
            "events": f"data/manifests/{dataset}_events.jsonl",
            "sessions": f"data/manifests/{dataset}_sessions.jsonl",
        },
        "totals": {
            "events": 96410,
            "sessions": 150,
            "items": 150,
            "hours": 9.8,
            "missing_audio_items": 0,
            "unknown_label_events": 0,
        },
        "classes": {"crash": 4100, "hihat": 30110, "kick": 28002, "ride": 3345, "snare": 24853, "tom": 6000},
        "techniques": {"bell": 410, "closed": 21000, "open": 4200, "rimshot": 880},
        "splits": {"test": {"events": 32000, "sessions": 50}, "train": {"events": 64410, "sessions": 100}},
        "label_sources": {"derived": 96410},
        "sessions": {
            "ANiMAL - Rockshow": {"events": 700, "split": "train"},
            "Actions - One Minute Smile": {"events": 650, "split": "train"},
            "Leaf - Wicked": {"events": 610, "split": "test"},
        },
        "velocity_histogram": {"edges": [0, 32, 64, 96, 128], "counts": [0, 0, 0, 0], "null": 96410},
        "unknowns": {"labels": {}, "techniques": {}},
        "leakage": [],
        "gates": [
            _gate("min_sessions", 150, 2, True),
            _gate("min_class_events[kick]", 28002, 10, True),
            _gate("min_class_events[ride]", 3345, 2000, True),
            _gate("max_unknown_label_fraction", 0.0, 0.0, True),
            _gate("split_bounds[train]", 0.6681, [0.3, 0.9], True),
            _gate("leakage", 0, 0, True),
        ],
        "status": "pass",
    }
    report.update(overrides)
    return report


def next_day_report() -> dict[str, Any]:
    """Ride relabelled as crash, a new technique, one session added, one moved, a leak appears."""
    report = copy.deepcopy(health_report())
    report["totals"].update(events=94977, sessions=151, items=151, unknown_label_events=12)
    report["classes"].update(crash=4100 + 1433 - 1433 + 1421, ride=1912, snare=24853 - 1433 + 12 - 12)
    report["classes"]["splash"] = 40
    report["techniques"]["choke"] = 212
    del report["techniques"]["bell"]
    report["splits"]["train"]["events"] = 62977
    report["sessions"]["Leaf - Wicked"]["split"] = "train"
    report["sessions"]["Zeno `<b>`|${{ github.token }} @team #1"] = {"events": 12, "split": "train"}
    del report["sessions"]["Actions - One Minute Smile"]
    report["unknowns"] = {"labels": {"ride_crash": 12}, "techniques": {}}
    report["leakage"] = [{"kind": "session", "key": "Leaf - Wicked", "splits": ["test", "train"]}]
    report["gates"] = [
        _gate("min_sessions", 151, 2, True),
        _gate("min_class_events[kick]", 28002, 10, True),
        _gate("min_class_events[ride]", 1912, 2000, False),
        _gate("max_unknown_label_fraction", 0.000126, 0.0, False),
        _gate("split_bounds[train]", 0.6631, [0.3, 0.9], True),
        _gate("leakage", 1, 0, False),
    ]
    report["status"] = "fail"
    return report


def weights_report(weights: dict[str, float], scheme: str = "effective", beta: float = 0.999) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": "weights",
        "dataset": "egmd",
        "scheme": scheme,
        "parameters": {"beta": beta},
        "group_by": "session_id",
        "weights": weights,
        "class_mass": {"kick": 0.4, "snare": 0.35, "hihat": 0.25},
        "sessions": len(weights),
        "description": "per-session quota spread over excerpts times class rarity",
    }


def make_workspace(root: Path) -> Path:
    """A workspace folder with a copy of the repository's configs/."""
    shutil.copytree(REPO_ROOT / "configs", root / "configs")
    return root


def dated_reports_workspace(root: Path) -> Path:
    """A workspace holding musdb_hq's health reports of 2025-03-01 and 02 and egmd's of 02."""
    from drumgate.io.jsonio import write_json

    make_workspace(root)
    folder = root / "reports" / "health"
    write_json(folder / "musdb_hq_20250301.json", health_report())
    write_json(folder / "musdb_hq_20250302.json", next_day_report())
    write_json(folder / "egmd_20250302.json", health_report("egmd"))
    return root

"""A three-dataset workspace of hand-built manifests for the combine and docs tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drumgate.io.jsonio import write_jsonl
from drumgate.workspace import Workspace
from tests.diff_fixtures import make_workspace

LICENCES = {
    "cambridge": ("Restricted (educational use)", "no", "no"),
    "musdb_hq": ("Restricted, academic use only", "no", "no"),
    "egmd": ("CC BY 4.0", "yes", "yes"),
}
SESSIONS = {
    "cambridge": [
        ("AtlantisBound_ItWasMyFaultForWaiting_Full", "train"),
        ("MagiciansNephew_GetOutOfBed_Full", "train"),
    ],
    "musdb_hq": [("Atlantis Bound - It Was My Fault For Waiting", "test"), ("Leaf - Summerghost", "train")],
    "egmd": [("drummer1/session1/1", "train"), ("drummer1/session1/2", "test")],
}
LABELS = ("kick", "snare", "hihat", "china")


def event_row(dataset: str, session: str, split: str, n: int, label: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": f"{dataset}:{session}:{n}",
        "dataset": dataset,
        "session_id": session,
        "item_id": f"{session}/drums.wav",
        "split": split,
        "onset_s": round(n * 0.25, 3),
        "label": label,
        "labels": [],
        "techniques": [],
        "velocity": 40 + n % 80,
        "label_source": "midi" if dataset == "egmd" else "derived",
        "confidence": 1.0,
        "source": {"file": f"{session}/drums.wav"},
    }
    return row


def session_row(dataset: str, session: str, split: str) -> dict[str, Any]:
    return {
        "session_id": session,
        "dataset": dataset,
        "tier": "primary",
        "path": session,
        "split": split,
        "files": [
            {
                "path": f"{session}/drums.wav",
                "status": "ok",
                "format": {"rate": 44100, "channels": 1, "frames": 44100 * 60, "seconds": 60.0},
            }
        ],
        "status": "ok",
        "warnings": [],
        "seconds": 60.0,
    }


def write_licence(ws: Workspace, dataset: str) -> None:
    licence, commercial, redistribution = LICENCES[dataset]
    path = ws.licence_note(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\nlicence: {licence}\ncommercial_use: {commercial}\nredistribution: {redistribution}\n"
        f'attribution: "{dataset} authors"\nsource: https://example.invalid/{dataset}\n---\n\nNotes.\n',
        encoding="utf-8",
    )


def build_dataset(
    ws: Workspace, dataset: str, per_label: int = 15, placed: list[tuple[str, str]] | None = None
) -> None:
    rows, sessions = [], []
    for session, split in placed or SESSIONS[dataset]:
        sessions.append(session_row(dataset, session, split))
        for n in range(per_label * len(LABELS)):
            rows.append(event_row(dataset, session, split, n, LABELS[n % len(LABELS)]))
    write_jsonl(ws.events_manifest(dataset), rows)
    write_jsonl(ws.sessions_manifest(dataset), sessions)
    write_licence(ws, dataset)


def three_dataset_workspace(root: Path) -> Workspace:
    ws = Workspace(make_workspace(root))
    for dataset in SESSIONS:
        build_dataset(ws, dataset)
    return ws

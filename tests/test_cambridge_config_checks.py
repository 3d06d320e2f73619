"""`drumgate events cambridge` on settings at the edge of what its configs allow (a review's findings):
no internal error (exit 3) at any schema bound of the settings it was reproduced with; the pairs and
windows the schema cannot express (fmin below fmax, a moving average wider than the onset's own frame,
a reachable delta, an overhead variant the crash map knows, ghost below accent, an index prefix that
leaves names alone) refused as one config line naming the file and keys (exit 2); and a run that
derives no event never replaces the online sessions' events without `--allow-empty` (exit 1). A
refused run leaves the committed manifest and its lock as they were.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drumgate import cli
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.io.jsonio import read_json, read_jsonl
from tests.conftest import copy_workspace_files

EVENTS = Path("data/manifests/cambridge_events.jsonl")
SESSIONS = Path("data/manifests/cambridge_sessions.jsonl")
LOCK = Path("data/locks/cambridge.lock.json")
FIX_EMPTY = ("fix: correct configs/onsets.json or configs/cambridge_events.json, or configs/stem_names.json and"
             " rerun drumgate ingest cambridge; or pass --allow-empty if no events is right")


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace with the Cambridge fixture corpus ingested and its events committed, made once."""
    root = tmp_path_factory.mktemp("cambridge") / "ws"
    copy_workspace_files(root)
    raw = root / "data" / "raw"
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("DRUMGATE_WORKSPACE", raising=False)
        assert cli.main(["ingest", "cambridge"]) == 0 and cli.main(["events", "cambridge"]) == 0
    yield root


@pytest.fixture
def ws(derived: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the derived workspace, made the current folder."""
    root = tmp_path / "ws"
    shutil.copytree(derived, root, symlinks=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    return root


def edit(root: Path, name: str, changes: dict[str, Any]) -> None:
    """Set each dotted key of `configs/<name>` (`default.fmin`; `*.key` sets the key of `default` and of
    every `per_class` block)."""
    path = root / "configs" / name
    doc = json.loads(path.read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        if parents == ["*"]:
            targets = [doc["default"], *doc["per_class"].values()]
        else:
            target = doc
            for part in parents:
                target = target.setdefault(part, {})
            targets = [target]
        for target in targets:
            target[key] = value
    path.write_text(json.dumps(doc, indent=2))


def committed(root: Path) -> tuple[bytes, bytes]:
    return (root / EVENTS).read_bytes(), (root / LOCK).read_bytes()


def derive(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["events", "cambridge", *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("name", "changes"), [
    ("cambridge_events.json", {"techniques.flam_max_s": 1}),  # the last onset has no next one to flam with
    ("cambridge_events.json", {"techniques.flam_min_s": 0}),
    ("cambridge_events.json", {"cross_mic.max_lag_s": 1e-9}),  # under half a sample: lag 0, no search
    ("cambridge_events.json", {"cross_mic.max_lag_s": 0.00001}),
    ("cambridge_events.json", {"cross_mic.max_lag_s": 0.05}),
    ("cambridge_events.json", {"cross_mic.arrival_window_s": 0.001}),
    ("cambridge_events.json", {"cross_mic.arrival_window_s": 0.2}),
    ("cambridge_events.json", {"cross_mic.arrival_window_s": 0.001, "cross_mic.max_lag_s": 1e-9}),
    ("onsets.json", {"*.fmin": 1e-9}),
    ("onsets.json", {"*.fmax": 1e9}),
    ("onsets.json", {"*.pre_avg_s": 0}),
    ("onsets.json", {"*.post_avg_s": 0}),
    ("onsets.json", {"*.pre_avg_s": 2, "*.post_avg_s": 2}),
    ("onsets.json", {"*.delta": 0}),
    ("onsets.json", {"*.delta": 0, "*.pre_avg_s": 0, "*.post_avg_s": 0}),  # no adaptive threshold, yet onsets
    ("onsets.json", {"default.delta": 1}),  # median over 51 frames: reachable
    ("onsets.json", {"*.window_s": 0.002, "*.bands_per_octave": 1}),
    ("onsets.json", {"*.window_s": 0.2, "*.bands_per_octave": 48}),
    ("onsets.json", {"*.fps": 10}),
    ("onsets.json", {"*.fps": 1000}),
])
def test_schema_bounds_derive_events(ws: Path, capsys: pytest.CaptureFixture[str], name: str,
                                     changes: dict[str, Any]) -> None:
    edit(ws, name, changes)
    code, err = derive(capsys)
    assert (code, err) == (0, "")
    assert read_jsonl(ws / EVENTS)


FMIN = "configs/onsets.json: default.fmin 20000.0 is not below default.fmax 17000.0"
AVERAGE = ("configs/onsets.json: default.pre_avg_s 0 and default.post_avg_s 0 leave the onset's own frame as its"
           " whole moving average at 200.5 frames/s: no onset can stand default.delta 0.055 above it")


@pytest.mark.parametrize(("name", "changes", "line"), [
    ("onsets.json", {"default.fmin": 20000.0}, f"{FMIN} (fix: set default.fmin below default.fmax there)"),
    ("onsets.json", {"per_class.kick.fmin": 18000.0},
     "configs/onsets.json: per_class.kick.fmin 18000.0 is not below default.fmax 17000.0"
     " (fix: set per_class.kick.fmin below default.fmax there)"),
    ("onsets.json", {"*.fmax": 1e-9},
     "configs/onsets.json: default.fmin 30.0 is not below default.fmax 1e-09"
     " (fix: set default.fmin below default.fmax there)"),
    ("onsets.json", {"default.fmin": 22050, "default.fmax": 30000},
     "configs/onsets.json: default.fmin 22050 is not below 22050 Hz, the highest frequency at the 44100 Hz"
     " analysis rate (fix: set default.fmin below 22050 there)"),
    ("onsets.json", {"default.fmin": 1000.0, "default.fmax": 1010.0},
     "configs/onsets.json: default.fmin 1000.0 to default.fmax 1010.0 Hz holds no onset band (fewer than 3 band"
     " centres on distinct bins of the 512-point FFT of default.window_s 0.0116 at 44100 Hz, at"
     " default.bands_per_octave 12) (fix: widen default.fmin to default.fmax, or raise default.window_s or"
     " default.bands_per_octave there)"),
    ("onsets.json", {"*.pre_avg_s": 0, "*.post_avg_s": 0},
     f"{AVERAGE} (fix: set default.pre_avg_s or default.post_avg_s to at least 0.004989 there)"),
    ("onsets.json", {"per_class.hihat.pre_avg_s": 0, "per_class.hihat.post_avg_s": 0},
     "configs/onsets.json: per_class.hihat.pre_avg_s 0 and per_class.hihat.post_avg_s 0 leave the onset's own"
     " frame as its whole moving average at 200.5 frames/s: no onset can stand per_class.hihat.delta 0.05 above"
     " it (fix: set per_class.hihat.pre_avg_s or per_class.hihat.post_avg_s to at least 0.004989 there)"),
    ("onsets.json", {"per_class.snare.delta": 1},
     "configs/onsets.json: per_class.snare.delta 1 is out of reach: an onset stands at most 0.9714 above the mean"
     " of its 35-frame window (per_class.snare.pre_avg_s 0.1, per_class.snare.post_avg_s 0.07,"
     " per_class.snare.threshold_mode 'mean') (fix: set per_class.snare.delta below 0.9714, or widen"
     " per_class.snare.pre_avg_s and per_class.snare.post_avg_s there)"),
    ("cambridge_events.json", {"overhead_variant": "overheads"},
     "configs/cambridge_events.json: overhead_variant 'overheads' is not a crash variant of"
     " configs/crash_dual_label.json (fix: write 'cymbal_overhead' there, or add 'overheads' to the variants of"
     " configs/crash_dual_label.json)"),
    ("cambridge_events.json", {"techniques.flam_max_s": 0},
     "configs/cambridge_events.json: techniques: flam_min_s must be below flam_max_s (0.012 >= 0)"
     " (fix: lower techniques.flam_min_s or raise techniques.flam_max_s there)"),
    ("cambridge_events.json", {"techniques.ghost_db": 4.0},
     "configs/cambridge_events.json: techniques: ghost_db must be below accent_db (4.0 >= 4.0)"
     " (fix: lower techniques.ghost_db or raise techniques.accent_db there)"),
    ("cambridge_events.json", {"cross_mic.arrival_window_s": 0.0009},
     "configs/cambridge_events.json: cross_mic/arrival_window_s: 0.0009 is less than the minimum of 0.001"
     " (fix: change cross_mic/arrival_window_s to what configs/schemas/cambridge_events.schema.json allows)"),
])
def test_a_config_that_cannot_work_is_one_line(ws: Path, capsys: pytest.CaptureFixture[str], name: str,
                                               changes: dict[str, Any], line: str) -> None:
    before = committed(ws)
    edit(ws, name, changes)
    assert derive(capsys) == (2, line + "\n")
    assert committed(ws) == before


def test_an_older_schema_copy_lets_the_windows_under_one_sample_through(ws: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A data repository keeps the schemas it was made with: one from before the 1 ms minimum takes an
    arrival window and a lag under one sample, which read one sample and lag 0."""
    schema = ws / "configs" / "schemas" / "cambridge_events.schema.json"
    doc = json.loads(schema.read_text())
    doc["properties"]["cross_mic"]["properties"]["arrival_window_s"] = {"exclusiveMinimum": 0, "type": "number"}
    schema.write_text(json.dumps(doc))
    edit(ws, "cambridge_events.json", {"cross_mic.arrival_window_s": 0.00001, "cross_mic.max_lag_s": 0.00001})
    assert derive(capsys) == (0, "")
    assert read_jsonl(ws / EVENTS)


NO_HIT = {"cross_mic.min_level_db": 40, "bleed.min_level_db": 40, "cymbal.min_level_db": 40}


def test_no_event_derived_never_replaces_the_committed_events(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = committed(ws)
    count = len(read_jsonl(ws / EVENTS))
    edit(ws, "cambridge_events.json", NO_HIT)  # schema-valid, and no onset is that loud
    assert derive(capsys) == (1, f"{EVENTS}: refusing to replace its {count} events of online sessions with none"
                                 f" (this run derived no event); nothing written ({FIX_EMPTY})\n")
    assert committed(ws) == before
    code, _ = derive(capsys, "--allow-empty")
    assert code == 0 and read_jsonl(ws / EVENTS) == []
    entry = read_json(ws / LOCK)["artifacts"][EVENTS.as_posix()]
    assert entry["command"] == "drumgate events cambridge --allow-empty"


def test_offline_sessions_carried_forward_do_not_hide_the_online_ones_emptied(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest written would hold the offline tier's events, and none of the online sessions'."""
    monkeypatch.setenv("DRUMGATE_CAMBRIDGE_EXTERNAL", str(ws / "no-such-drive"))
    rows = read_jsonl(ws / EVENTS)
    online = [row for row in rows if row["session_id"] != "GammaRay_OpenRoad"]
    assert 0 < len(online) < len(rows)
    before = committed(ws)
    edit(ws, "cambridge_events.json", NO_HIT)
    assert derive(capsys) == (1, f"{EVENTS}: refusing to replace its {len(online)} events of online sessions with"
                                 f" none (this run derived no event); nothing written ({FIX_EMPTY})\n")
    assert committed(ws) == before


def test_an_index_prefix_that_eats_names_is_refused_before_ingest(ws: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`.*` took every stem name whole: each stem unmatched, every session without a drum, no event."""
    sessions = (ws / SESSIONS).read_bytes()
    edit(ws, "stem_names.json", {"index_prefix": ".*"})
    capsys.readouterr()
    assert cli.main(["ingest", "cambridge"]) == 2
    assert capsys.readouterr().err == (
        "configs/stem_names.json: index_prefix '.*' changes 'KickIn', a stem name without an index, to ''"
        ' (fix: make index_prefix match only a leading track number there, as "^\\\\d{1,3}[_ -]+" does)\n')
    assert (ws / SESSIONS).read_bytes() == sessions

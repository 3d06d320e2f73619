"""Settings of `configs/musdb.json` and `configs/onsets.json` that only make sense together, and empty
`session_suffixes`: one config line and exit 2 before any audio is read, never a traceback or an
empty manifest refused; an empty suffix strips nothing."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from drumgate import cli
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.io.jsonio import read_json
from drumgate.reports.overlap import strip_suffix
from tests.combine_fixtures import SESSIONS, build_dataset, three_dataset_workspace
from tests.conftest import copy_workspace_files

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATE = "2025-03-02"
SUFFIXES = '"session_suffixes": ["_Full", "_Excerpt"]'


@dataclass(frozen=True)
class Case:
    name: str
    config: str
    old: str
    new: str
    message: str


CASES = [
    Case("drum-stem-renamed", "musdb.json", '"drum_stem": "drums"', '"drum_stem": "Drums"',
         "drum_stem 'Drums' is not among stems (mixture, drums, bass, other, vocals): no track's drums would be read"
         ' (fix: set drum_stem to one of stems, or add "Drums" to stems)'),
    Case("drums-not-a-stem", "musdb.json", '"mixture", "drums", "bass"', '"mixture", "bass"',
         "drum_stem 'drums' is not among stems (mixture, bass, other, vocals): no track's drums would be read"
         ' (fix: set drum_stem to one of stems, or add "drums" to stems)'),
    Case("transcription-fmin-above-fmax", "musdb.json", '"iterations": 30,',
         '"fmin": 20000.0, "fmax": 18000.0, "iterations": 30,',
         "transcription.fmin 20000 Hz is not below transcription.fmax 18000 Hz: the band keeps no frequency"
         " (fix: make transcription.fmin lower than transcription.fmax, shipped as 20 and 18000)"),
    Case("transcription-fmin-above-nyquist", "musdb.json", '"iterations": 30,',
         '"fmin": 30000, "fmax": 40000, "iterations": 30,',
         "transcription.fmin 30000 Hz is not below 22050 Hz, half the 44100 Hz sample rate: the band keeps no"
         " frequency (fix: make transcription.fmin lower than 22050, shipped as 20)"),
    Case("transcription-band-narrower-than-a-bin", "musdb.json", '"iterations": 30,',
         '"fmin": 10000, "fmax": 10001, "iterations": 30,',
         "transcription.fmin 10000 Hz to transcription.fmax 10001 Hz holds no frequency bin of the spectrogram at"
         " 44100 Hz: the band keeps no frequency (fix: widen the band, lower transcription.fmin or raise"
         " transcription.fmax, shipped as 20 and 18000)"),
    Case("transcription-hop-longer-than-window", "musdb.json", '"iterations": 30,',
         '"iterations": 30,\n    "hop_s": 0.1,\n    "fft_s": 0.05,',
         "transcription.hop_s 0.1 s is longer than transcription.fft_s 0.05 s: the audio between two frames is"
         " never looked at (fix: make transcription.hop_s at most transcription.fft_s, shipped as 0.01 and 0.0464)"),
    Case("transcription-hop-s-1e-09", "musdb.json", '"iterations": 30,', '"hop_s": 1e-09, "iterations": 30,',
         "transcription.hop_s 1e-09 s is shorter than 0.005 s: the frames would be too many to hold"
         " (fix: set transcription.hop_s between 0.005 and 0.1, shipped as 0.01)"),
    Case("transcription-fft-s-1", "musdb.json", '"iterations": 30,', '"fft_s": 1, "iterations": 30,',
         "transcription.fft_s 1 s is longer than 0.1 s: a window that long smears drum hits together"
         " (fix: set transcription.fft_s between 0.005 and 0.1, shipped as 0.0464)"),
    Case("transcription-pre-max-s-1e+06", "musdb.json", '"iterations": 30,', '"pre_max_s": 1e+06, "iterations": 30,',
         "transcription.pre_max_s 1e+06 s is longer than 1 s: the peak picker's window would outgrow the memory"
         " (fix: set transcription.pre_max_s between 0 and 1, shipped as 0.03)"),
    Case("transcription-post-max-s-1e+06", "musdb.json", '"iterations": 30,', '"post_max_s": 1e+06, "iterations": 30,',
         "transcription.post_max_s 1e+06 s is longer than 1 s: the peak picker's window would outgrow the memory"
         " (fix: set transcription.post_max_s between 0 and 1, shipped as 0.03)"),
    Case("transcription-avg-s-1e+06", "musdb.json", '"iterations": 30,', '"avg_s": 1e+06, "iterations": 30,',
         "transcription.avg_s 1e+06 s is longer than 2 s: the peak picker's window would outgrow the memory"
         " (fix: set transcription.avg_s between 0 and 2, shipped as 0.1)"),
    Case("transcription-wait-s-1e+06", "musdb.json", '"iterations": 30,', '"wait_s": 1e+06, "iterations": 30,',
         "transcription.wait_s 1e+06 s is longer than 1 s: one hit per class would be kept per track"
         " (fix: set transcription.wait_s between 0 and 1, shipped as 0.05)"),
    Case("transcription-hop-under-one-sample", "musdb.json", '"sample_rate": 44100', '"sample_rate": 50',
         "transcription.hop_s 0.01 s is less than one sample at 50 Hz: the frames would not step as set"
         " (fix: set transcription.hop_s between 0.02 and 0.1)"),
    Case("transcription-n-mels-1e6", "musdb.json", '"iterations": 30,', '"n_mels": 1000000, "iterations": 30,',
         "transcription/n_mels: 1000000 is greater than the maximum of 256 (fix: change transcription/n_mels to"
         " what configs/schemas/musdb.schema.json allows)"),
    Case("transcription-iterations-1e6", "musdb.json", '"iterations": 30,', '"iterations": 1000000,',
         "transcription/iterations: 1000000 is greater than the maximum of 300 (fix: change transcription/iterations"
         " to what configs/schemas/musdb.schema.json allows)"),
]


def ingest(root: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's warnings about an empty band fail the run
        return cli.main(["ingest", "musdb", "--workspace", str(root), "--root", str(root / "data/raw/musdb_hq"),
                         "--date", DATE])


def contents(root: Path) -> dict[str, str]:
    """Every file's hash, but the empty, git-ignored OS lock files (`data/locks/.<group>.lck`) a run takes."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and path.suffix != ".lck"}


def edit(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    changed = text.replace(old, new)
    path.write_text(changed, encoding="utf-8")
    return changed


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the project's configs and a MUSDB fixture corpus, ingested once (manifests there)."""
    root = tmp_path_factory.mktemp("musdb_checks") / "ws"
    copy_workspace_files(root)
    make_musdb_corpus(root / "data" / "raw" / "musdb_hq", seed=3, seconds=2.0)
    assert ingest(root) == 0
    return root


@pytest.fixture
def copy(ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(ingested, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    return root


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_settings_that_cannot_work_together_are_one_config_line(case: Case, copy: Path, capsys) -> None:
    edit(copy / "configs" / case.config, case.old, case.new)
    before = contents(copy)
    capsys.readouterr()
    assert ingest(copy) == 2
    captured = capsys.readouterr()
    assert captured.err == f"configs/{case.config}: {case.message}\n"
    assert "Traceback" not in captured.out + captured.err
    assert contents(copy) == before


def test_an_onset_band_musdb_uses_that_keeps_nothing_is_one_config_line(copy: Path, capsys) -> None:
    """The `default` block of `configs/onsets.json` (what MUSDB reads), checked by drumgate.signal.onsets."""
    edit(copy / "configs" / "onsets.json", '"fmin": 30.0,', '"fmin": 20000.0,')
    before = contents(copy)
    capsys.readouterr()
    assert ingest(copy) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.out + captured.err
    assert captured.err.startswith("configs/onsets.json: default.fmin 20000")
    assert "default.fmax 17000" in captured.err and "(fix: " in captured.err
    assert contents(copy) == before


def test_the_printed_fixes_work(copy: Path, capsys) -> None:
    musdb = copy / "configs" / "musdb.json"
    edit(musdb, '"mixture", "drums", "bass"', '"mixture", "bass"')
    assert ingest(copy) == 2
    edit(musdb, '"mixture", "bass"', '"mixture", "drums", "bass"')  # add "drums" to stems
    edit(musdb, '"iterations": 30,', '"fmin": 20000.0, "iterations": 30,')
    assert ingest(copy) == 2
    edit(musdb, '"fmin": 20000.0,', '"fmin": 20.0,')  # lower than transcription.fmax, as shipped
    assert ingest(copy) == 0
    edit(musdb, '"iterations": 30,', '"hop_s": 1e-09, "iterations": 30,')
    assert ingest(copy) == 2
    edit(musdb, '"hop_s": 1e-09,', '"hop_s": 0.01,')  # between 0.005 and 0.1, as shipped
    assert ingest(copy) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_an_empty_suffix_strips_nothing() -> None:
    assert strip_suffix("AlphaBand_FirstLight", ["_Full", ""]) == "AlphaBand_FirstLight"
    assert strip_suffix("AlphaBand_FirstLight_full", ["", "_Full"]) == "AlphaBand_FirstLight"
    assert strip_suffix("_Full", ["_Full"]) == "_Full"  # all suffix: kept, not emptied
    assert strip_suffix("x/.zip") == ".zip"
    assert strip_suffix("x/Song_Excerpt.ZIP") == "Song"


def combine(root: Path) -> int:
    return cli.main(["combine", "--workspace", str(root), "--date", DATE])


def with_unsuffixed_session(root: Path) -> Path:
    """The three-dataset workspace, its Cambridge sessions one without a suffix, `session_suffixes` holding ""."""
    ws = three_dataset_workspace(root)
    build_dataset(ws, "cambridge", placed=[*SESSIONS["cambridge"], ("AlphaBand_FirstLight", "train")])
    edit(ws.configs / "musdb.json", SUFFIXES, '"session_suffixes": ["_Full", ""]')
    return root


def test_an_empty_suffix_is_a_config_finding_and_combine_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    root = with_unsuffixed_session(tmp_path / "ws")
    monkeypatch.chdir(root)
    before = contents(root)
    assert combine(root) == 2
    assert capsys.readouterr().err == ("configs/musdb.json: session_suffixes/1: '' should be non-empty"
                                       " (fix: change session_suffixes/1 to what configs/schemas/musdb.schema.json"
                                       " allows)\n")
    assert contents(root) == before


def test_combine_output_is_valid_where_the_schema_still_lets_an_empty_suffix_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data repository made before the schema said so keeps its own copy of it."""
    root = with_unsuffixed_session(tmp_path / "ws")
    monkeypatch.chdir(root)
    edit(root / "configs" / "schemas" / "musdb.schema.json", '{"type": "string", "minLength": 1}}',
         '{"type": "string"}}')
    assert combine(root) in (0, 1)  # 1: the fixture's cross-dataset song leak fails a gate
    reference = read_json(root / "data" / "manifests" / "prod_combined_events.json")
    jsonschema.validate(reference, read_json(root / "configs" / "schemas" / "combined_reference.schema.json"))
    keys = {source["dataset"]: source["song_keys"] for source in reference["sources"]}
    assert keys["cambridge"]["AlphaBand_FirstLight"] == "alphabandfirstlight"
    assert keys["cambridge"]["MagiciansNephew_GetOutOfBed_Full"] == "magiciansnephewgetoutofbed"

"""Bad audio through the real CLI: lying WAV headers, NaN/inf samples, zip bombs and zip members
that climb out in Windows spelling each get exit 1 or 2, one `path: reason` line naming the file
(with the reason asserted), and no traceback. Odd but legal Cambridge names (`:` and `#` in
folder, zip and stem names) keep every stem under the right session."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from drumgate.io.jsonio import iter_jsonl
from tests.reliability.audio_inputs import (
    CAMBRIDGE,
    FOLDER_STEM,
    ZIP_ARCHIVE,
    ZIP_MEMBER,
    ZIP_SESSION,
    build_audio_template,
    first_musdb_drums,
    hits,
    noise,
    non_finite_wav,
    wav_bytes,
    with_declared_size,
    with_header,
    zip_bytes,
)
from tests.reliability.support import DATE, TRACEBACK, make_workspace, run_drumgate
from tests.reliability.test_bad_inputs import Case, assert_one_clean_finding, run_case, write

INGEST = ["ingest", "cambridge"]
EVENTS = ["events", "cambridge"]
MUSDB = ["ingest", "musdb", "--date", DATE]
GHZ = 10**9


@dataclass(frozen=True)
class AudioCase:
    case: Case
    reason: str  # words the one finding line must hold: the right refusal, not just any


def folder_stem(name: str, argv: list[str], content: Callable[[bytes], bytes], reason: str) -> AudioCase:
    def build(root: Path) -> tuple[list[str], str]:
        write(root, FOLDER_STEM, content((root / FOLDER_STEM).read_bytes()))
        return argv, FOLDER_STEM

    return AudioCase(Case(f"{argv[0]}-{argv[1]}-{name}", build), reason)


def zip_member(name: str, argv: list[str], member: str, data: Callable[[], bytes], reason: str) -> AudioCase:
    """The session zip with one stem replaced by `data` under the member name `member`."""

    def build(root: Path) -> tuple[list[str], str]:
        with zipfile.ZipFile(root / ZIP_ARCHIVE) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist() if info.filename != ZIP_MEMBER}
        write(root, ZIP_ARCHIVE, zip_bytes({**members, member: data()}))
        return argv, f"{ZIP_ARCHIVE}#{member}"

    return AudioCase(Case(f"{argv[0]}-{argv[1]}-zip-{name}", build), reason)


def bombed_archive(root: Path) -> tuple[list[str], str]:
    """A member whose central directory claims 3 GiB: refused before a byte is inflated."""
    with zipfile.ZipFile(root / ZIP_ARCHIVE) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist() if info.filename == ZIP_MEMBER}
    write(root, ZIP_ARCHIVE, with_declared_size(zip_bytes(members), 3 << 30))
    return INGEST, f"{ZIP_ARCHIVE}#{ZIP_MEMBER}"


def musdb_drums(name: str, content: Callable[[bytes], bytes], reason: str) -> AudioCase:
    def build(root: Path) -> tuple[list[str], str]:
        target = first_musdb_drums(root)
        write(root, target, content((root / target).read_bytes()))
        return MUSDB, target

    return AudioCase(Case(f"ingest-musdb-{name}", build), reason)


def replaced_by(data: bytes) -> Callable[[bytes], bytes]:
    return lambda _old: data


RATE = "implausible sample rate"
CHANNELS = "implausible channel count"
NON_FINITE = "NaN or infinite samples"
ESCAPES = "zip member escapes the archive"
SILENT_ZEROS = bytes(8 << 20)
CASES = [
    folder_stem("rate-1ghz", INGEST, lambda data: with_header(data, rate=GHZ), RATE),
    folder_stem("rate-1hz", INGEST, lambda data: with_header(data, rate=1), RATE),
    folder_stem("rate-7999hz", INGEST, lambda data: with_header(data, rate=7999), RATE),
    folder_stem("rate-384001hz", INGEST, lambda data: with_header(data, rate=384_001), RATE),
    folder_stem("rate-zero", INGEST, lambda data: with_header(data, rate=0), "unreadable audio"),
    folder_stem("channels-65", INGEST, lambda data: with_header(data, channels=65), CHANNELS),
    folder_stem("channels-65535", INGEST, lambda data: with_header(data, channels=65535), "unreadable audio"),
    folder_stem("rate-1ghz", EVENTS, lambda data: with_header(data, rate=GHZ), RATE),
    folder_stem("rate-1hz", EVENTS, lambda data: with_header(data, rate=1), RATE),
    folder_stem("nan-float32", EVENTS, replaced_by(non_finite_wav(float("nan"))), NON_FINITE),
    folder_stem("inf-float32", EVENTS, replaced_by(non_finite_wav(float("inf"))), NON_FINITE),
    folder_stem("minus-inf-double", EVENTS, replaced_by(non_finite_wav(float("-inf"), "DOUBLE")), NON_FINITE),
    folder_stem("nan-one-channel-of-two", EVENTS, replaced_by(non_finite_wav(float("nan"), channels=2)), NON_FINITE),
    zip_member("nan", EVENTS, ZIP_MEMBER, lambda: non_finite_wav(float("nan")), NON_FINITE),
    zip_member("rate-1hz", EVENTS, ZIP_MEMBER, lambda: with_header(wav_bytes(noise()), rate=1), RATE),
    zip_member("rate-1ghz", INGEST, ZIP_MEMBER, lambda: with_header(wav_bytes(noise()), rate=GHZ), RATE),
    zip_member("ratio-bomb", INGEST, ZIP_MEMBER, lambda: wav_bytes(noise(0.1)) + SILENT_ZEROS, "over the 200x limit"),
    zip_member("windows-dotdot", INGEST, "..\\..\\outside\\01_Kick.wav", lambda: wav_bytes(noise()), ESCAPES),
    zip_member("windows-nested-dotdot", INGEST, f"{ZIP_SESSION}\\..\\..\\01_Kick.wav", lambda: wav_bytes(noise()),
               ESCAPES),
    zip_member("windows-absolute", INGEST, "\\Users\\me\\01_Kick.wav", lambda: wav_bytes(noise()), ESCAPES),
    zip_member("windows-drive", INGEST, "C:\\Users\\me\\01_Kick.wav", lambda: wav_bytes(noise()), ESCAPES),
    zip_member("drive-forward-slash", INGEST, "C:/Users/me/01_Kick.wav", lambda: wav_bytes(noise()), ESCAPES),
    AudioCase(Case("ingest-cambridge-zip-declares-3gib", bombed_archive), "byte limit"),
    musdb_drums("rate-1ghz", lambda data: with_header(data, rate=GHZ), RATE),
    musdb_drums("rate-1hz", lambda data: with_header(data, rate=1), RATE),
    musdb_drums("channels-200", lambda data: with_header(data, channels=200), CHANNELS),
    musdb_drums("nan-stereo", replaced_by(non_finite_wav(float("nan"), channels=2)), NON_FINITE),
    musdb_drums("inf-stereo", replaced_by(non_finite_wav(float("inf"), channels=2)), NON_FINITE),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    base = tmp_path_factory.mktemp("bad-audio")
    template = build_audio_template(base / "_template")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {item.case.name: pool.submit(run_case, item.case, template, base) for item in CASES}
        return {name: future.result() for name, future in futures.items()}


def test_corpus_adds_at_least_twenty_cases() -> None:
    assert len({item.case.name for item in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize("item", CASES, ids=[item.case.name for item in CASES])
def test_bad_audio_gets_one_line_with_its_reason(item: AudioCase, results: dict[str, tuple]) -> None:
    run, bad_path, root = results[item.case.name]
    assert_one_clean_finding(run, bad_path, root, item.case.codes)
    named = [line for line in run.stderr.splitlines() if item.reason in line]
    assert len(named) == 1, f"expected one line saying {item.reason!r}\n{run.describe()}"


def test_non_finite_stem_is_reported_not_silently_empty(results: dict[str, tuple]) -> None:
    """The stem's events are gone (it cannot be analysed) and the run says so with exit 1;
    the session's other stems still give events."""
    run, _bad, root = results["events-cambridge-nan-float32"]
    assert run.code == 1, run.describe()
    rows = list(iter_jsonl(root / "data" / "manifests" / "cambridge_events.jsonl"))
    items = {row["item_id"] for _, row in rows}
    assert not any(item.endswith("03_HiHat.wav") and "AlphaBand" in item for item in items)
    assert any(item.endswith("01_KickIn.wav") for item in items)


def test_non_finite_musdb_track_keeps_its_neighbours(results: dict[str, tuple]) -> None:
    _run, bad_path, root = results["ingest-musdb-nan-stereo"]
    sessions = {row["path"]: row for _, row in iter_jsonl(root / "data" / "manifests" / "musdb_hq_sessions.jsonl")}
    track = bad_path.split("/", 3)[3].rsplit("/", 1)[0]
    assert sessions[track]["status"] == "unreadable"
    assert sum(row["status"] == "ok" for row in sessions.values()) == len(sessions) - 1
    events = [row for _, row in iter_jsonl(root / "data" / "manifests" / "musdb_hq_events.jsonl")]
    assert events and all(not row["item_id"].startswith(track) for row in events)


def stem_rows(root: Path) -> dict[str, dict]:
    return {row["session_id"]: row for _, row in iter_jsonl(root / "data" / "manifests" / "cambridge_sessions.jsonl")}


def test_colon_in_a_session_folder_files_problems_under_that_session(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    session = root / CAMBRIDGE / "Band: Live_Take 2"
    session.mkdir(parents=True)
    (session / "01_Kick.wav").write_bytes(wav_bytes(noise()))
    os.symlink("nowhere.wav", session / "02_Snare.wav")
    run = run_drumgate([*INGEST, "--workspace", str(root)], cwd=root)
    assert run.code == 1 and TRACEBACK not in run.output, run.describe()
    rows = stem_rows(root)
    assert sorted(rows) == ["Band: Live_Take 2"], run.describe()
    assert rows["Band: Live_Take 2"]["status"] == "unreadable"
    assert [f["stem"] for f in rows["Band: Live_Take 2"]["files"]] == ["Kick"]
    assert [line for line in run.stderr.splitlines() if "dangling symlink" in line] == [
        f"{session / '02_Snare.wav'}: dangling symlink (fix or remove the link)"
    ]


def test_hash_in_folder_zip_and_stem_names_loses_no_stem(tmp_path: Path) -> None:
    """`#` separates an archive from its member in stem paths; a `#` inside any name is kept."""
    root = make_workspace(tmp_path / "ws")
    folder = root / CAMBRIDGE / "Band#1_Song"
    folder.mkdir(parents=True)
    for seed, name in enumerate(("01_Kick #2.wav", "02_Snare.wav")):
        (folder / name).write_bytes(wav_bytes(hits(seed=seed)))
    archive = {f"Band#2_Song_Full/{name}": wav_bytes(hits(seed=seed + 2))
               for seed, name in enumerate(("01_Kick.wav", "02_Snare #B.wav"))}
    (root / CAMBRIDGE / "Band#2_Song_Full.zip").write_bytes(zip_bytes(archive))
    run = run_drumgate([*INGEST, "--workspace", str(root)], cwd=root)
    assert run.code == 0 and TRACEBACK not in run.output, run.describe()
    rows = stem_rows(root)
    assert sorted(rows) == ["Band#1_Song", "Band#2_Song_Full"]
    assert [(f["stem"], f["status"]) for f in rows["Band#1_Song"]["files"]] == [("Kick #2", "ok"), ("Snare", "ok")]
    assert [(f["stem"], f["status"]) for f in rows["Band#2_Song_Full"]["files"]] == [("Kick", "ok"), ("Snare #B", "ok")]
    events = run_drumgate([*EVENTS, "--workspace", str(root)], cwd=root)
    assert events.code == 0 and TRACEBACK not in events.output, events.describe()
    items = {row["item_id"] for _, row in iter_jsonl(root / "data" / "manifests" / "cambridge_events.jsonl")}
    assert {item.rsplit("/", 1)[-1] for item in items} == {"01_Kick #2.wav", "02_Snare.wav", "01_Kick.wav",
                                                           "02_Snare #B.wav"}

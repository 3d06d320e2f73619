"""A small audio input never costs gigabytes: each hostile case of issue 13 item 5 runs through the
real CLI in a measured child process and stays under 500 MiB peak resident memory (the figures are
printed; wall time is printed, never asserted). In-process tests show why: samples are read in
bounded blocks, long files are refused before reading, and a zip member is probed without
inflating it."""

from __future__ import annotations

import os
import shutil
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.signal.audio import MAX_READ_FRAMES, READ_BLOCK_SAMPLES, open_zip_member, probe_wav, read_mono
from tests.reliability.audio_inputs import (
    FOLDER_STEM,
    MIB,
    SR,
    ZIP_ARCHIVE,
    ZIP_SESSION,
    build_audio_template,
    first_musdb_drums,
    measured_run,
    noise,
    wav_bytes,
    with_header,
    write_silence_member,
    zip_bytes,
)
from tests.reliability.support import DATE, TRACEBACK, finding_lines
from tests.reliability.test_bad_inputs import write

PEAK_LIMIT_MIB = 500
GHZ = 10**9
BIG_MEMBER = f"{ZIP_SESSION}/09_Tom2.wav"
ONE_SECOND_WAV = wav_bytes(noise(1.0))  # 88 KiB, like the red team's file


def lying_stem(rate: int) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        write(root, FOLDER_STEM, with_header(ONE_SECOND_WAV, rate=rate))
        return FOLDER_STEM

    return build


def lying_drums(rate: int) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        target = first_musdb_drums(root)
        write(root, target, with_header(wav_bytes(noise(1.0, channels=2)), rate=rate))
        return target

    return build


def big_member(noise_bytes: int) -> Callable[[Path], str]:
    """A 512 MiB member (6,087 s of 16-bit mono) added to the session zip: with 4 MiB of noise the
    zip is 4.7 MB (114x, under the ratio limit); without it 0.5 MB (1,029x, over)."""

    def build(root: Path) -> str:
        archive = root / ZIP_ARCHIVE
        with zipfile.ZipFile(archive) as source:
            members = {info.filename: source.read(info) for info in source.infolist()}
        archive.unlink()
        write_silence_member(archive, BIG_MEMBER, 512 * MIB, noise_bytes)
        with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as target:
            for name, data in members.items():
                target.writestr(name, data)
        return f"{ZIP_ARCHIVE}#{BIG_MEMBER}"

    return build


EVENTS = ["events", "cambridge"]
MUSDB = ["ingest", "musdb", "--date", DATE]
# name: (command, what to break, the reason its one line gives, re-inventory Cambridge first)
CASES = {
    "events-cambridge-1ghz-header": (EVENTS, lying_stem(GHZ), "implausible sample rate", False),
    "events-cambridge-1hz-header": (EVENTS, lying_stem(1), "implausible sample rate", False),
    "ingest-musdb-1hz-header": (MUSDB, lying_drums(1), "implausible sample rate", False),
    "ingest-musdb-1ghz-header": (MUSDB, lying_drums(GHZ), "implausible sample rate", False),
    "ingest-cambridge-512mib-member-1029x": (["ingest", "cambridge"], big_member(0), "over the 200x limit", False),
    "events-cambridge-512mib-member-114x": (EVENTS, big_member(4 * MIB), "audio too long to read", True),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_audio_template(tmp_path_factory.mktemp("limits") / "_template")


@pytest.mark.parametrize("name", sorted(CASES))
def test_small_hostile_input_stays_under_500_mib(name: str, template: Path, tmp_path: Path) -> None:
    argv, build, reason, inventory_first = CASES[name]
    root = tmp_path / "ws"
    shutil.copytree(template, root, symlinks=True, copy_function=os.link)
    bad = build(root)
    if inventory_first:
        inventory = measured_run(["ingest", "cambridge", "--workspace", str(root)], cwd=root)
        print(f"\n{name} (inventory first): exit {inventory.run.code}, peak {inventory.peak_mib:.0f} MiB, "
              f"{inventory.seconds:.1f} s")
        assert inventory.peak_mib < PEAK_LIMIT_MIB and inventory.run.code == 0, inventory.run.describe()
    measured = measured_run([*argv[:2], "--workspace", str(root), *argv[2:]], cwd=root)
    print(f"\n{name}: exit {measured.run.code}, peak {measured.peak_mib:.0f} MiB, {measured.seconds:.1f} s")
    assert measured.peak_mib < PEAK_LIMIT_MIB, measured.run.describe()
    assert measured.run.code == 1 and TRACEBACK not in measured.run.output, measured.run.describe()
    lines = finding_lines(measured.run.stderr, bad, root)
    assert len(lines) == 1 and reason in lines[0], measured.run.describe()


def test_samples_are_read_in_bounded_blocks(tmp_path: Path) -> None:
    """16 channels x 10 s: the interleaved float32 array would be 28 MB; reading keeps the mono
    signal plus one block, whatever the channel count."""
    path = tmp_path / "wide.wav"
    path.write_bytes(wav_bytes(noise(10.0, channels=16)))
    frames = 10 * SR
    tracemalloc.start()
    try:
        mono, rate = read_mono(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rate == SR and len(mono) == frames
    interleaved = frames * 16 * 4
    assert peak < frames * 4 + 3 * READ_BLOCK_SAMPLES * 4 < interleaved


def test_blocks_give_the_same_signal_as_one_read(tmp_path: Path) -> None:
    import soundfile as sf

    path = tmp_path / "stereo.wav"
    path.write_bytes(wav_bytes(noise(30.0, channels=2), subtype="PCM_24"))
    whole = sf.read(path, dtype="float32", always_2d=True)[0].mean(axis=1)
    assert np.array_equal(read_mono(path)[0], whole)


def test_a_file_over_the_frame_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(noise(1.0)))
    with pytest.raises(DrumgateError, match="audio too long to read: 44100 frames") as caught:
        read_mono(path, max_frames=SR - 1)
    assert caught.value.exit_code == 1
    assert MAX_READ_FRAMES * 4 <= 256 * MIB


def test_a_zip_member_is_probed_from_its_header_alone(tmp_path: Path) -> None:
    """The member's last bytes are damaged, so inflating it to the end fails its CRC check; the
    probe still answers, which it could not if it read the member through."""
    data = wav_bytes(noise(2.0))
    archive_path = tmp_path / "Session_Full.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("Session_Full/01_Kick.wav", data)
    raw = bytearray(archive_path.read_bytes())
    at = raw.index(data[-64:]) + 32
    raw[at] ^= 0xFF
    archive_path.write_bytes(bytes(raw))
    with zipfile.ZipFile(archive_path) as archive:
        info = archive.infolist()[0]
        with pytest.raises(zipfile.BadZipFile):
            archive.read(info)
        with open_zip_member(archive, info, "member") as handle:
            fmt = probe_wav(handle, name="member")
    assert (fmt.rate, fmt.channels, fmt.frames) == (SR, 1, 2 * SR)


def test_a_small_stem_zip_is_not_taken_for_a_bomb(tmp_path: Path) -> None:
    archive_path = tmp_path / "Session_Full.zip"
    archive_path.write_bytes(zip_bytes({"Session_Full/01_Kick.wav": wav_bytes(noise(1.0))}))
    with zipfile.ZipFile(archive_path) as archive, open_zip_member(archive, archive.infolist()[0], "m") as handle:
        assert probe_wav(handle, name="m").frames == SR

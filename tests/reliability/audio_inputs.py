"""Hostile audio for the reliability tests: WAV headers that lie, non-finite float samples, zip
members that inflate far beyond their archive, and the tiny workspace they are dropped into."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from tests.reliability.support import Run, child_env, drumgate_command, make_workspace, run_drumgate

CAMBRIDGE = "data/raw/cambridge"
FOLDER_SESSION = "AlphaBand_FirstLight"
FOLDER_STEM = f"{CAMBRIDGE}/{FOLDER_SESSION}/03_HiHat.wav"
ZIP_SESSION = "BetaCollective_NightDrive_Full"
ZIP_ARCHIVE = f"{CAMBRIDGE}/{ZIP_SESSION}.zip"
ZIP_MEMBER = f"{ZIP_SESSION}/03_HiHat.wav"
SR = 44100
MIB = 1 << 20


def wav_bytes(signal: np.ndarray, rate: int = SR, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, signal, rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


def noise(seconds: float = 2.0, channels: int = 1, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (int(seconds * SR), channels) if channels > 1 else (int(seconds * SR),)
    return (0.1 * rng.standard_normal(shape)).astype(np.float32)


def hits(seconds: float = 3.0, seed: int = 1) -> np.ndarray:
    """Decaying noise bursts at seeded times: a stem that onset detection finds hits in."""
    rng = np.random.default_rng(seed)
    signal = 0.001 * rng.standard_normal(int(seconds * SR))
    decay = np.exp(-np.arange(int(0.15 * SR)) / (0.02 * SR))
    for start in np.sort(rng.uniform(0.1, seconds - 0.3, size=int(seconds * 2))):
        at = int(start * SR)
        signal[at : at + len(decay)] += 0.8 * decay * rng.standard_normal(len(decay))
    return np.clip(signal, -1, 1).astype(np.float32)


def with_header(data: bytes, rate: int | None = None, channels: int | None = None) -> bytes:
    """The same file with its `fmt ` chunk claiming another sample rate or channel count (the
    byte rate follows, so only the claim is absurd, not the header's arithmetic)."""
    out = bytearray(data)
    fmt = out.index(b"fmt ") + 8
    old_channels, old_rate = struct.unpack_from("<HI", out, fmt + 2)
    block_align = struct.unpack_from("<H", out, fmt + 12)[0]
    new_channels = old_channels if channels is None else channels
    new_rate = old_rate if rate is None else rate
    new_align = block_align // old_channels * new_channels
    struct.pack_into("<HII", out, fmt + 2, new_channels, new_rate, (new_rate * new_align) & 0xFFFFFFFF)
    struct.pack_into("<H", out, fmt + 12, new_align & 0xFFFF)
    return bytes(out)


def non_finite_wav(value: float, subtype: str = "FLOAT", channels: int = 1) -> bytes:
    """Two seconds of float noise with one sample (one channel) set to NaN or +/-infinity at 1 s."""
    signal = noise(2.0, channels).astype(np.float64)
    if channels > 1:
        signal[SR, channels - 1] = value
    else:
        signal[SR] = value
    return wav_bytes(signal, subtype=subtype)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def silent_wav_header(frames: int, rate: int = SR, channels: int = 1) -> bytes:
    """A 16-bit PCM header whose `data` chunk holds `frames` frames (the samples are written after)."""
    data_bytes = frames * channels * 2
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + (
        b"data" + struct.pack("<I", data_bytes)
    )


def write_silence_member(archive_path: Path, member: str, inflated_bytes: int, noise_bytes: int = 0) -> None:
    """A zip whose one member is a 16-bit WAV of `inflated_bytes`: `noise_bytes` of random samples,
    then digital silence, streamed in (deflate turns 512 MiB of zeros into about 0.5 MiB)."""
    header = silent_wav_header((inflated_bytes - 44) // 2)
    info = zipfile.ZipInfo(member)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(archive_path, "w") as archive:
        with archive.open(info, "w", force_zip64=True) as handle:
            handle.write(header)
            handle.write(np.random.default_rng(3).bytes(noise_bytes))
            left = inflated_bytes - len(header) - noise_bytes
            zeros = bytes(MIB)
            while left > 0:
                handle.write(zeros[: min(left, MIB)])
                left -= MIB


def with_declared_size(archive: bytes, size: int) -> bytes:
    """The archive with its central directory claiming each member inflates to `size` bytes."""
    out = bytearray(archive)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        struct.pack_into("<I", out, at + 24, size)
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def build_audio_template(root: Path, inventory: bool = True) -> Path:
    """A workspace with the demo's Cambridge and MUSDB corpora (2 s MUSDB tracks) and, when asked,
    a fresh Cambridge inventory so `events cambridge` has stems to read."""
    make_workspace(root)
    raw = root / "data" / "raw"
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=7)
    make_musdb_corpus(raw / "musdb_hq", seed=7, seconds=2.0)
    if inventory:
        run = run_drumgate(["ingest", "cambridge", "--workspace", str(root)], cwd=root)
        assert run.code == 0, run.describe()
    return root


def first_musdb_drums(root: Path) -> str:
    target = sorted((root / "data" / "raw" / "musdb_hq").rglob("drums.wav"))[0]
    return target.relative_to(root).as_posix()


MEASURE = """
import json, resource, subprocess, sys, time
limit = int(sys.argv[1])
def guard():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
started = time.perf_counter()
done = subprocess.run(sys.argv[2:], preexec_fn=guard, capture_output=True, text=True, errors="replace")
print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
                  "seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""
# A regression must fail the test, not take the shared machine's memory with it.
ADDRESS_SPACE_GUARD = 6 << 30


@dataclass(frozen=True)
class Measured:
    run: Run
    peak_mib: float
    seconds: float


def measured_run(argv: list[str], cwd: Path) -> Measured:
    """The CLI in a child of a small helper process, which reports the child's own peak resident
    memory (ru_maxrss of its only child) and wall time; the child's address space is capped."""
    helper = [sys.executable, "-c", MEASURE, str(ADDRESS_SPACE_GUARD), *drumgate_command(argv)]
    done = subprocess.run(helper, cwd=cwd, env=child_env(), capture_output=True, text=True, check=True, timeout=600)
    report = json.loads(done.stdout)
    run = Run(tuple(argv), report["code"], report["stdout"], report["stderr"])
    return Measured(run, report["peak_mib"], report["seconds"])

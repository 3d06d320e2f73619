"""Audio probing and loading: format facts without reading samples, mono float32 on demand.

Every failure is a DrumgateError naming the file: empty, Git LFS pointer, unreadable header,
or a RIFF/WAVE file whose `data` chunk promises more bytes than the file holds (truncated).
Sources are paths or seekable binary file objects (a member opened from a zip archive).
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import asdict, dataclass
from math import gcd
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf

from drumgate.errors import DrumgateError
from drumgate.jsonio import LFS_HINT, LFS_POINTER_PREFIX

AudioSource = str | Path | BinaryIO

BIT_DEPTHS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ULAW": 8,
    "ALAW": 8,
}
UNKNOWN_CHUNK_SIZES = {0, 0xFFFFFFFF}


@dataclass(frozen=True)
class AudioFormat:
    rate: int
    channels: int
    subtype: str | None
    bit_depth: int | None
    frames: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label(source: AudioSource, name: str | None) -> str | Path:
    if name is not None:
        return name
    if isinstance(source, (str, Path)):
        return source
    return getattr(source, "name", "<stream>")


def _byte_size(source: AudioSource) -> int:
    if isinstance(source, (str, Path)):
        return os.stat(source).st_size
    position = source.tell()
    size = source.seek(0, io.SEEK_END)
    source.seek(position)
    return size


def _head(source: AudioSource, count: int) -> bytes:
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            return handle.read(count)
    position = source.tell()
    data = source.read(count)
    source.seek(position)
    return data


def _declared_data_shortfall(source: AudioSource, size: int) -> tuple[int, int] | None:
    """(declared, present) bytes of the `data` chunk when a RIFF/WAVE file is cut short."""
    handle: BinaryIO = open(source, "rb") if isinstance(source, (str, Path)) else source
    start = handle.tell()
    try:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        position = 12
        while position + 8 <= size:
            handle.seek(position)
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            body = position + 8
            if chunk_id == b"data":
                present = size - body
                if chunk_size not in UNKNOWN_CHUNK_SIZES and chunk_size > present:
                    return chunk_size, present
                return None
            position = body + chunk_size + (chunk_size & 1)
        return None
    finally:
        if isinstance(source, (str, Path)):
            handle.close()
        else:
            handle.seek(start)


def _open_error(source: AudioSource, label: str | Path, exc: Exception) -> DrumgateError:
    if isinstance(exc, FileNotFoundError):
        return DrumgateError("audio file not found", path=label)
    if isinstance(exc, IsADirectoryError):
        return DrumgateError("is a folder, expected an audio file", path=label)
    if isinstance(exc, OSError) and not isinstance(exc, sf.LibsndfileError):
        return DrumgateError(f"cannot read audio: {exc.strerror or exc}", path=label)
    detail = str(exc).split(": ", 1)[-1].strip() or type(exc).__name__
    return DrumgateError(f"unreadable audio ({detail})", path=label, hint="re-export or re-download the file")


def _precheck(source: AudioSource, label: str | Path) -> int:
    try:
        size = _byte_size(source)
        head = _head(source, len(LFS_POINTER_PREFIX))
    except OSError as exc:
        raise _open_error(source, label, exc) from exc
    if size == 0:
        raise DrumgateError("empty audio file (0 bytes)", path=label, hint="re-copy or re-export it")
    if head.startswith(LFS_POINTER_PREFIX):
        raise DrumgateError("Git LFS pointer where audio should be", path=label, hint=LFS_HINT)
    return size


def probe_wav(source: AudioSource, name: str | None = None) -> AudioFormat:
    """Rate, channels, subtype, bit depth, frames and seconds, read from the header only."""
    label = _label(source, name)
    size = _precheck(source, label)
    try:
        shortfall = _declared_data_shortfall(source, size)
        info = sf.info(source if not isinstance(source, Path) else str(source))
    except (RuntimeError, OSError, sf.LibsndfileError, struct.error) as exc:
        raise _open_error(source, label, exc) from exc
    finally:
        if not isinstance(source, (str, Path)):
            source.seek(0)
    if shortfall is not None:
        declared, present = shortfall
        raise DrumgateError(
            f"truncated audio: header promises {declared} data bytes, file holds {present}",
            path=label,
            hint="re-copy or re-download the file",
        )
    if info.frames <= 0:
        raise DrumgateError("audio file holds no samples", path=label, hint="re-export it")
    return AudioFormat(
        rate=int(info.samplerate),
        channels=int(info.channels),
        subtype=info.subtype or None,
        bit_depth=BIT_DEPTHS.get(info.subtype or ""),
        frames=int(info.frames),
        seconds=round(info.frames / info.samplerate, 6),
    )


def resample(signal: np.ndarray, source_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling (one central place, so every stage agrees)."""
    if source_sr == target_sr:
        return signal
    from scipy.signal import resample_poly

    divisor = gcd(source_sr, target_sr)
    return resample_poly(signal, target_sr // divisor, source_sr // divisor).astype(np.float32)


def read_mono(source: AudioSource, target_sr: int | None = None, name: str | None = None) -> tuple[np.ndarray, int]:
    """Samples averaged to mono float32, optionally resampled to `target_sr`."""
    label = _label(source, name)
    probe_wav(source, name=name)
    try:
        data, sr = sf.read(source if not isinstance(source, Path) else str(source), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, sf.LibsndfileError) as exc:
        raise _open_error(source, label, exc) from exc
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if target_sr is not None and target_sr != sr:
        return resample(mono, int(sr), int(target_sr)), int(target_sr)
    return mono, int(sr)

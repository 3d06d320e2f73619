"""Audio probing and loading: format facts without reading samples, mono float32 on demand.

Every failure is a DrumgateError naming the file: empty, Git LFS pointer, unreadable header,
a RIFF/WAVE file whose `data` chunk promises more bytes than the file holds (truncated), a
sample rate or channel count no recording has, samples that are NaN or infinite, or a signal
too long to hold in memory. Sources are paths or seekable binary file objects; a zip member is
opened with `open_zip_member`, which refuses bomb-like members and finds the member's end
without decompressing it. No input costs memory beyond its own decoded mono signal: samples are
read in blocks of bounded size whatever the channel count.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
from dataclasses import asdict, dataclass
from math import gcd
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf

from drumgate.errors import EXIT_FINDINGS, DrumgateError
from drumgate.io.jsonio import LFS_HINT, LFS_POINTER_PREFIX

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

# Sample rates a real recording has: telephone audio (8 kHz) is the lowest, DXD and the fastest
# studio converters (352.8/384 kHz) the highest. A header outside is corrupt or hostile, and
# resampling from it costs memory in proportion to the rate ratio (a 1 GHz header cost 9.5 GB).
SAMPLE_RATE_RANGE = (8_000, 384_000)
# A stem is mono or stereo, a surround or ambisonic bus at most 16 channels; 64 leaves headroom.
MAX_CHANNELS = 64
# The longest signal read into memory at once: 2**26 frames (25 min at 44.1 kHz, 12 min at 96 kHz)
# is a 256 MiB mono float32 array. Longer files are refused, never half-read.
MAX_READ_FRAMES = 2**26
# Samples (frames x channels) per read block: about 4 MiB of float32 whatever the channel count.
READ_BLOCK_SAMPLES = 2**20
# A zip member's declared size caps what zipfile will ever inflate (it stops there and checks
# the CRC); 1 GiB is three times a 10-minute 96 kHz 24-bit stereo stem.
MAX_ZIP_MEMBER_BYTES = 2**30
# PCM audio deflates by 1.1-3x; 200x needs over 99.6 % exact digital silence, which is an empty
# stem or a decompression bomb (deflate itself stops near 1032x).
MAX_ZIP_COMPRESSION_RATIO = 200
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


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


def _check_plausible(rate: int, channels: int, label: str | Path) -> None:
    low, high = SAMPLE_RATE_RANGE
    if not low <= rate <= high:
        raise DrumgateError(
            f"implausible sample rate {rate} Hz in the header (a recording has {low}-{high} Hz)",
            path=label,
            hint="the header is corrupt: re-export or re-download the file",
        )
    if channels > MAX_CHANNELS:
        raise DrumgateError(
            f"implausible channel count {channels} in the header (at most {MAX_CHANNELS})",
            path=label,
            hint="the header is corrupt: re-export or re-download the file",
        )


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
    _check_plausible(int(info.samplerate), int(info.channels), label)
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


def read_mono(
    source: AudioSource, target_sr: int | None = None, name: str | None = None, max_frames: int = MAX_READ_FRAMES
) -> tuple[np.ndarray, int]:
    """Samples averaged to mono float32, optionally resampled to `target_sr`.

    Read in blocks of at most READ_BLOCK_SAMPLES samples, so memory is the mono signal whatever
    the channel count; a file longer than `max_frames` or holding NaN/infinite samples is refused.
    """
    label = _label(source, name)
    fmt = probe_wav(source, name=name)
    if fmt.frames > max_frames:
        raise DrumgateError(
            f"audio too long to read: {fmt.frames} frames ({fmt.seconds:.0f} s at {fmt.rate} Hz), "
            f"the limit is {max_frames} frames",
            path=label,
            hint="split the file or resample it to 44.1 kHz",
            exit_code=EXIT_FINDINGS,
        )
    try:
        mono = _mono_blocks(source, fmt, label)
    except (RuntimeError, OSError, sf.LibsndfileError) as exc:
        raise _open_error(source, label, exc) from exc
    if target_sr is not None and target_sr != fmt.rate:
        return resample(mono, fmt.rate, int(target_sr)), int(target_sr)
    return mono, fmt.rate


def _mono_blocks(source: AudioSource, fmt: AudioFormat, label: str | Path) -> np.ndarray:
    mono = np.empty(fmt.frames, dtype=np.float32)
    block_frames = max(1, READ_BLOCK_SAMPLES // fmt.channels)
    filled = 0
    with sf.SoundFile(source if not isinstance(source, Path) else str(source)) as audio:
        while filled < fmt.frames:
            block = audio.read(min(block_frames, fmt.frames - filled), dtype="float32", always_2d=True)
            if not len(block):
                break
            finite = np.isfinite(block).all(axis=1)
            if not finite.all():
                first = (filled + int(np.argmin(finite))) / fmt.rate
                raise DrumgateError(
                    f"audio holds NaN or infinite samples (first at {first:.3f} s)",
                    path=label,
                    hint="re-export the stem; non-finite samples cannot be analysed",
                    exit_code=EXIT_FINDINGS,
                )
            mono[filled : filled + len(block)] = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            filled += len(block)
    return mono[:filled]


# Zip members -----------------------------------------------------------------------------------


class SizedMember(io.RawIOBase):
    """A zip member whose size comes from the archive's directory: seeking to its end (which
    soundfile does to learn the length) moves a position instead of inflating the whole member."""

    def __init__(self, member: BinaryIO, size: int, name: str) -> None:
        super().__init__()
        self._member = member
        self._size = size
        self._position = 0
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._size:
            return 0
        if self._member.tell() != self._position:
            self._member.seek(self._position)
        data = self._member.read(min(len(buffer), self._size - self._position))
        memoryview(buffer).cast("B")[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._member.close()
        super().close()


def open_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> SizedMember:
    """The member as a seekable audio source; a member that would inflate to more than
    MAX_ZIP_MEMBER_BYTES, or by more than MAX_ZIP_COMPRESSION_RATIO, is refused unopened."""
    hint = "re-download the archive, or unpack it and check the stem"
    if info.file_size > MAX_ZIP_MEMBER_BYTES:
        raise DrumgateError(
            f"zip member inflates to {info.file_size} bytes, over the {MAX_ZIP_MEMBER_BYTES} byte limit",
            path=label,
            hint=hint,
            exit_code=EXIT_FINDINGS,
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > MAX_ZIP_COMPRESSION_RATIO:
        raise DrumgateError(
            f"zip member inflates {ratio:.0f}x ({info.compress_size} to {info.file_size} bytes), "
            f"over the {MAX_ZIP_COMPRESSION_RATIO}x limit: a decompression bomb or an empty stem",
            path=label,
            hint=hint,
            exit_code=EXIT_FINDINGS,
        )
    return SizedMember(archive.open(info), info.file_size, label)


def zip_member_escapes(member_name: str) -> bool:
    """True when a member name is absolute or climbs out, in POSIX or Windows spelling (`..\\`,
    `\\abs`, `C:`): zip tools on Windows write backslashes, and extractors honour them."""
    normalised = member_name.replace("\\", "/")
    return (
        normalised.startswith("/")
        or bool(WINDOWS_DRIVE.match(normalised))
        or ".." in normalised.split("/")
    )

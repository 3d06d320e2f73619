"""Hypothesis: the JSONL reader never raises anything but DrumgateError and never loses a line."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import LFS_POINTER_PREFIX, encode_jsonl, iter_jsonl, parse_line, read_json

SETTINGS = settings(
    max_examples=150, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
json_rows = st.dictionaries(st.text(max_size=8), json_values, max_size=5)
jsonish_line = st.one_of(
    st.binary(max_size=60),
    json_rows.map(lambda row: encode_jsonl([row]).rstrip(b"\n")),
    st.sampled_from([b"NaN", b'{"a": NaN}', b'{"a": Infinity}', b"[1,2]", b'"x"', b"{", b"\xff\xfe", b"[" * 2000]),
)


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_parse_line_on_any_bytes_raises_only_drumgate_error(raw: bytes) -> None:
    try:
        row = parse_line(raw, Path("m.jsonl"), 3)
    except DrumgateError as err:
        assert str(err).startswith("m.jsonl:3: ")
        assert "\n" not in str(err)
    else:
        assert isinstance(row, dict)


def _check_file(path: Path) -> None:
    problems: list[DrumgateError] = []
    try:
        rows = list(iter_jsonl(path, on_error=problems.append))
    except DrumgateError as err:
        assert "\n" not in str(err)
        return
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()] if path.suffix != ".gz" else None
    if lines is not None:
        assert len(rows) + len(problems) == len(lines), "a line was neither yielded nor reported"
        assert [n for n, _ in rows] == sorted(n for n, _ in rows)


@SETTINGS
@given(payload=st.binary(max_size=400))
def test_iter_jsonl_on_any_file_content(tmp_path: Path, payload: bytes) -> None:
    target = tmp_path / "any.jsonl"
    target.write_bytes(payload)
    _check_file(target)


@SETTINGS
@given(lines=st.lists(jsonish_line, max_size=12))
def test_iter_jsonl_mixed_lines_lose_nothing(tmp_path: Path, lines: list[bytes]) -> None:
    target = tmp_path / "mixed.jsonl"
    target.write_bytes(b"\n".join(lines))
    _check_file(target)


@SETTINGS
@given(payload=st.binary(max_size=300), cut=st.integers(0, 400), flip=st.integers(0, 400))
@example(payload=b"", cut=13, flip=11)
def test_iter_jsonl_gzip_damaged_anywhere(tmp_path: Path, payload: bytes, cut: int, flip: int) -> None:
    data = bytearray(gzip.compress(payload, mtime=0))
    if flip < len(data):
        data[flip] ^= 0x5A
    target = tmp_path / "any.jsonl.gz"
    target.write_bytes(bytes(data[: max(cut, 0)] if cut < len(data) else data))
    _check_file(target)


@SETTINGS
@given(tail=st.binary(max_size=40))
def test_lfs_pointer_is_one_drumgate_error(tmp_path: Path, tail: bytes) -> None:
    target = tmp_path / "lfs.jsonl"
    target.write_bytes(LFS_POINTER_PREFIX + tail)
    try:
        list(iter_jsonl(target, on_error=lambda err: None))
    except DrumgateError as err:
        assert "LFS" in str(err)
    else:
        raise AssertionError("an LFS pointer was read as a manifest")


@SETTINGS
@given(payload=st.binary(max_size=300), cut=st.integers(0, 400), flip=st.integers(0, 400))
@example(payload=b"", cut=13, flip=11)
def test_read_json_gzip_damaged_anywhere(tmp_path: Path, payload: bytes, cut: int, flip: int) -> None:
    data = bytearray(gzip.compress(payload, mtime=0))
    if flip < len(data):
        data[flip] ^= 0x5A
    target = tmp_path / "doc.json.gz"
    target.write_bytes(bytes(data[:cut]) if cut < len(data) else bytes(data))
    try:
        read_json(target)
    except DrumgateError as err:
        assert "\n" not in str(err)


@SETTINGS
@given(payload=st.binary(max_size=300))
def test_read_json_on_any_bytes(tmp_path: Path, payload: bytes) -> None:
    target = tmp_path / "doc.json"
    target.write_bytes(payload)
    try:
        read_json(target)
    except DrumgateError as err:
        assert str(err).startswith(str(target))

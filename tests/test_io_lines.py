"""The one JSONL line reader (drumgate.io.lines) and what shares it: jsonio, rowscan, chunkscan, parts,
events; plus atomic_writers (several atomic files through one ExitStack)."""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import pytest

from drumgate import events
from drumgate.errors import DrumgateError
from drumgate.io import chunkscan, fsutil, lines, parts
from drumgate.io.jsonio import iter_jsonl, write_jsonl
from drumgate.io.rowscan import scan_jsonl

LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 12\n"


def reference_lines(data: bytes, limit: int) -> list[tuple[int, bytes | None]]:
    """What the capped reader must give, computed the slow, obvious way."""
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    return [(number, None if len(piece) > limit else piece) for number, piece in enumerate(pieces, start=1)]


@pytest.mark.parametrize("seed", range(40))
def test_capped_lines_match_the_obvious_split_at_every_block_boundary(seed: int) -> None:
    rng = random.Random(seed)
    limit = rng.choice([1, 2, 3, 5, 8, 13])
    data = bytes(rng.choice(b"ab\n\n\r ") for _ in range(rng.randrange(0, 120)))
    assert list(lines.iter_capped_lines(io.BytesIO(data), limit)) == reference_lines(data, limit)
    assert list(lines.numbered_lines_of(data, limit)) == reference_lines(data, limit)


def test_a_line_over_the_cap_is_none_and_never_held_whole() -> None:
    data = b'{"a":1}\n' + b"x" * 50 + b"\n" + b'{"b":2}'
    assert list(lines.iter_capped_lines(io.BytesIO(data), 16)) == [(1, b'{"a":1}'), (2, None), (3, b'{"b":2}')]


def test_rows_of_lines_reports_bad_lines_and_keeps_the_line_numbers_of_the_rest() -> None:
    found: list[str] = []
    numbered = [(1, b'{"a":1}'), (2, b"  "), (3, b"[1]"), (4, None), (5, b'{"b":NaN}'), (6, b'{"c":3}\r')]
    rows = list(lines.rows_of_lines(numbered, Path("m.jsonl"), lambda err: found.append(str(err))))
    assert rows == [(1, {"a": 1}), (6, {"c": 3})]
    assert found == [
        "m.jsonl:3: each line must be a JSON object, got list",
        f"m.jsonl:4: {lines.LINE_TOO_LONG} (split the row or regenerate the manifest)",
        "m.jsonl:5: invalid JSON: NaN or Infinity is not valid JSON",
    ]
    with pytest.raises(DrumgateError, match=r"m\.jsonl:3: each line must be a JSON object"):
        list(lines.rows_of_lines(numbered, Path("m.jsonl")))


def test_a_folder_where_a_file_is_expected_has_its_own_message_not_a_damaged_stream(tmp_path: Path) -> None:
    folder = tmp_path / "egmd_events.jsonl.gz"
    folder.mkdir()
    expected = f"{folder}: is a folder, expected a JSONL file (fix: give a .jsonl or .jsonl.gz file, not a folder)"
    with pytest.raises(DrumgateError) as caught:
        list(lines.numbered_lines(folder))
    assert str(caught.value) == expected
    found: list[str] = []
    assert list(scan_jsonl(folder, lambda err: found.append(str(err)))) == []
    assert found == [expected]


@pytest.mark.parametrize("name", ["m.jsonl", "m.jsonl.gz"])
def test_a_git_lfs_pointer_is_worded_once_however_it_is_stored(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(LFS_POINTER)
    expected = f"{path}: Git LFS pointer, not the manifest (fix: run git lfs pull)"
    with pytest.raises(DrumgateError) as caught:
        list(iter_jsonl(path))
    assert str(caught.value) == expected
    found: list[str] = []
    assert list(scan_jsonl(path, lambda err: found.append(str(err)))) == []
    assert found == [expected]


def test_a_gzip_stream_cut_short_gives_its_rows_then_one_damaged_stream_error(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl.gz"
    rng = random.Random(5)
    write_jsonl(path, [{"n": n, "pad": rng.randbytes(60).hex()} for n in range(5000)])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    seen: list[int] = []
    with pytest.raises(DrumgateError, match=r"damaged gzip stream .*\(fix: regenerate the file\)"):
        for line_no, row in iter_jsonl(path):
            assert row["n"] == line_no - 1
            seen.append(line_no)
    assert 0 < len(seen) < 5000
    found: list[str] = []
    assert list(scan_jsonl(path, lambda err: found.append(str(err)))) == []  # a checker: the damage alone
    assert len(found) == 1 and "damaged gzip stream" in found[0]


def test_a_flipped_byte_in_a_gzip_stream_is_one_finding_not_one_per_garbage_line(tmp_path: Path) -> None:
    """The lines a damaged stream inflates to are garbage: the hook's scan words the damage once
    (it gave 36 `invalid JSON` lines for one byte before) and yields no row from it."""
    path = tmp_path / "m.jsonl.gz"
    rng = random.Random(7)
    write_jsonl(path, [{"n": n, "pad": rng.randbytes(60).hex()} for n in range(5000)])
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(DrumgateError):  # the plain reader reads up to the damage and stops there
        list(iter_jsonl(path))
    found: list[str] = []
    assert list(scan_jsonl(path, lambda err: found.append(str(err)))) == []
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}: damaged gzip stream (") and found[0].endswith("(fix: regenerate the file)")
    assert lines.gzip_damage(path) is not None
    path.write_bytes(gzip.compress(b'{"n":1}\n'))
    assert lines.gzip_damage(path) is None
    assert lines.gzip_damage(tmp_path / "absent.jsonl.gz") is None  # the reader words that one


def test_a_plain_file_that_cannot_be_opened_is_not_called_a_gzip_stream(tmp_path: Path) -> None:
    found: list[str] = []
    list(scan_jsonl(tmp_path / "absent.jsonl", lambda err: found.append(str(err))))
    assert found == [f"{tmp_path / 'absent.jsonl'}: file not found (fix: ls {tmp_path} to see what is there)"]


def test_the_chunked_scan_gives_the_reference_scans_findings_line_for_line(tmp_path: Path) -> None:
    text = (
        b'{"a":1}\n{"a": 2}\n{"a":1,"a":2}\n\n[3]\n{"a":NaN}\n'
        b'{"b":{"c":1,"c":1}}\n  \n{"z":1,"a":2}\r\n{"bad"\n\xff\xfe\n{"a":3}'
    )
    path = tmp_path / "m.jsonl"
    path.write_bytes(text)
    reference: list[tuple[int | None, str]] = []
    reference_rows = list(scan_jsonl(path, lambda err: reference.append((err.line, err.message))))
    findings: list[chunkscan.LineFinding] = []
    fast_rows = [
        pair
        for numbers, rows in chunkscan.lean_batches(text, 1, findings, batch_rows=3)
        for pair in zip(numbers, rows, strict=True)
    ]
    assert fast_rows == reference_rows
    assert [(finding.line, finding.message) for finding in findings] == reference


def test_events_reads_a_folder_and_its_single_file_name_through_the_same_reader(tmp_path: Path) -> None:
    rows = [{"item_id": f"s{n % 3}", "session_id": f"s{n % 3}", "n": n} for n in range(9)]
    folder = tmp_path / "x_events"
    groups = {key: [row for row in rows if row["session_id"] == key] for key in ("s0", "s1", "s2")}
    parts.write_parts(folder, "events", "x", "session_id", [parts.PartInput(k, v) for k, v in groups.items()])
    stored = [row for key in sorted(groups) for row in groups[key]]
    assert list(events.read(folder)) == stored
    assert list(events.read(tmp_path / "x_events.jsonl")) == stored
    assert [number for number, _ in events.iter_rows(folder)] == list(range(1, 10))
    assert events.count_rows(folder) == 9
    single = tmp_path / "y_events.jsonl.gz"
    write_jsonl(single, rows)
    assert list(events.read(single)) == rows and events.count_rows(single) == 9


def test_a_part_that_is_a_git_lfs_pointer_is_worded_like_any_manifest(tmp_path: Path) -> None:
    with pytest.raises(DrumgateError, match="Git LFS pointer, not the manifest \\(fix: run git lfs pull\\)"):
        list(parts.part_rows(tmp_path / "p.jsonl.gz", LFS_POINTER))
    sound = gzip.compress(b'{"a":1}\n\n{"b":2}\n')
    assert list(parts.part_rows(tmp_path / "p.jsonl.gz", sound)) == [(1, {"a": 1}), (3, {"b": 2})]


def test_atomic_writers_leave_no_temporary_file_when_the_second_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_bytes(b"a file where the second target's folder should be")
    targets = {"events": tmp_path / "out" / "events.jsonl", "sessions": blocker / "sessions.jsonl"}
    with pytest.raises(DrumgateError, match="cannot write here"), fsutil.atomic_writers(targets) as handles:
        handles["events"].write(b"never kept\n")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == []


def test_atomic_writers_replace_every_target_when_the_block_succeeds(tmp_path: Path) -> None:
    targets = {"events": tmp_path / "events.jsonl", "sessions": tmp_path / "sessions.jsonl"}
    targets["events"].write_bytes(b"old\n")
    with fsutil.atomic_writers(targets) as handles:
        handles["events"].write(b"new events\n")
        handles["sessions"].write(b"new sessions\n")
    assert targets["events"].read_bytes() == b"new events\n"
    assert targets["sessions"].read_bytes() == b"new sessions\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["events.jsonl", "sessions.jsonl"]


def test_atomic_writers_keep_the_old_files_when_the_block_fails(tmp_path: Path) -> None:
    targets = {"events": tmp_path / "events.jsonl", "sessions": tmp_path / "sessions.jsonl"}
    targets["events"].write_bytes(b"old\n")
    with pytest.raises(RuntimeError, match="interrupted"), fsutil.atomic_writers(targets) as handles:
        handles["events"].write(b"half")
        raise RuntimeError("interrupted")
    assert targets["events"].read_bytes() == b"old\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["events.jsonl"]


def test_a_gzip_file_without_its_gz_name_says_so_on_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "x_events.jsonl"
    packed = gzip.compress(b'{"a": 1}\n' * 50)
    with pytest.raises(DrumgateError) as caught:
        lines.parse_line(packed.split(b"\n")[0], path, 1)
    assert caught.value.message == "a gzip file without the .gz name"
    assert caught.value.hint == f"fix: mv {path} {path}.gz"

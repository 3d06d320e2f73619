"""The chunked hook path (forked workers over newline-aligned chunks, batch validation) reports
exactly what the line-by-line path reports, line numbers included."""

from __future__ import annotations

import gzip
import hashlib
import itertools
from pathlib import Path

import pytest

from checks import check_schema, check_taxonomy
from drumgate.io import chunkscan, scanmemo
from drumgate.io.jsonio import dumps_row
from drumgate.schemas import validator_for
from drumgate.workspace import PACKAGE_ROOT, Workspace
from tests.hooks_support import crash_event, event, make_workspace, run_hook

EVENTS = "data/manifests/egmd_events.jsonl"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    workspace = make_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / ".cache"))
    return workspace


def mixed_lines() -> list[bytes]:
    """Sound rows with every kind of bad line spread among them."""
    bad = {
        17: b'{"event_id": "x", ',
        40: dumps_row(event(40)).replace(b'"onset_s":10.0', b'"onset_s":NaN'),
        41: b'{"label":"kick","label":"snare"}',
        63: dumps_row(event(63, velocity="loud")),
        64: b"",
        65: b"   ",
        90: b"[1, 2]",
        91: dumps_row(event(91, label="cowbel")),
        120: dumps_row(event(120, onset_s=-1.0)),
        121: b'{"dataset": "egmd", "label": "kick"}',
        150: dumps_row(event(150)) + b"\r",
        151: b'{"source": {"file": "a", "file": "b"}}',
        199: dumps_row(event(199, techniques=["rimshot"])),
    }
    lines = []
    for index in range(1, 230):
        row = crash_event(index) if index % 7 == 0 else event(index)
        lines.append(bad.get(index, dumps_row(row)))
    return lines


def hook_output(module, argv: list[str], capsys) -> tuple[int, str]:
    code = run_hook(module, argv)
    return code, capsys.readouterr().err


def outputs_by_mode(module, ws: Workspace, name: str, capsys, monkeypatch) -> dict[str, tuple[int, str]]:
    """The hook's result line by line, in one in-process chunk and in forked chunks (no memo used)."""
    monkeypatch.setattr(scanmemo, "load", lambda digest: None)
    results = {}
    with monkeypatch.context() as patch:
        patch.setattr(chunkscan, "load_for_chunks", lambda path, want_digest=False: chunkscan.Loaded(None))
        patch.setattr(chunkscan, "usable_data", lambda path, stored: None)
        results["line by line"] = hook_output(module, [name], capsys)
    with monkeypatch.context() as patch:
        patch.setattr(chunkscan, "PARALLEL_MIN_BYTES", 1 << 40)
        patch.setattr(check_schema, "BATCH_ROWS", 16)
        results["one chunk, in process"] = hook_output(module, [name], capsys)
    with monkeypatch.context() as patch:
        patch.setattr(chunkscan, "PARALLEL_MIN_BYTES", 0)
        patch.setattr(chunkscan, "CHUNKS_PER_WORKER", 5)
        patch.setattr(chunkscan, "worker_count", lambda: 2)
        patch.setattr(check_schema, "BATCH_ROWS", 8)
        results["forked chunks"] = hook_output(module, [name], capsys)
    return results


@pytest.mark.parametrize("module", [check_schema, check_taxonomy], ids=["schema", "taxonomy"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_chunked_path_reports_what_the_line_path_reports(ws, capsys, monkeypatch, module, suffix):
    data = b"".join(line + b"\n" for line in mixed_lines())
    path = ws.root / (EVENTS + suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if suffix else data)
    results = outputs_by_mode(module, ws, EVENTS + suffix, capsys, monkeypatch)
    reference = results["line by line"]
    assert reference[0] == 1 and reference[1]
    assert all(result == reference for result in results.values()), results


def test_chunked_path_accepts_a_sound_manifest(ws, capsys, monkeypatch):
    lines = [
        dumps_row(crash_event(i) if i % 5 == 0 else event(i, techniques=["accent"] if i % 3 else []))
        for i in range(300)
    ]
    (ws.root / EVENTS).parent.mkdir(parents=True, exist_ok=True)
    (ws.root / EVENTS).write_bytes(b"\n".join(lines))
    for module in (check_schema, check_taxonomy):
        for result in outputs_by_mode(module, ws, EVENTS, capsys, monkeypatch).values():
            assert result == (0, "")


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_chunk_bounds_cover_the_file_at_newlines_with_first_line_numbers(trailing_newline):
    data = b"".join(b"row %d\n" % i for i in range(1, 101))
    data = data if trailing_newline else data.rstrip(b"\n")
    for parts in (1, 3, 7, 100, 500):
        bounds = chunkscan.chunk_bounds(data, parts)
        assert bounds[0][0] == 0 and bounds[-1][1] == len(data)
        for before, after in itertools.pairwise(bounds):
            assert before[1] == after[0] and data[before[1] - 1 : before[1]] == b"\n"
        for start, end, first_line in bounds:
            assert data[start:end].split(b"\n", 1)[0] == b"row %d" % first_line


def test_unusable_files_go_to_the_line_path(tmp_path):
    cases = {
        "empty.jsonl": b"",
        "blank.jsonl": b"\n  \n",
        "lfs.jsonl": b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\n",
        "binary.jsonl": dumps_row(event(0)) + b"\n\x00\x01\x02\n",
        "damaged.jsonl.gz": gzip.compress(dumps_row(event(0)))[:-6],
        "missing.jsonl": None,
    }
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        assert chunkscan.load_for_chunks(tmp_path / name).data is None, name


def test_batch_verdict_agrees_with_row_verdicts_for_every_schema():
    ws = Workspace(PACKAGE_ROOT)
    candidates = [{}, [], "x", event(0), event(1, velocity="loud"), {"schema_version": 1}]
    for schema_file in sorted(Path(ws.schemas).glob("*.schema.json")):
        validator = validator_for(ws, schema_file.name.removesuffix(".schema.json"))
        assert validator.fast_all is not None
        for candidate in candidates:
            assert validator.all_accepted([candidate]) == validator.fast_accepts(candidate), (schema_file, candidate)
        events_ok = [event(i) for i in range(3)]
        assert validator_for(ws, "events").all_accepted(events_ok)
        assert not validator_for(ws, "events").all_accepted([*events_ok, event(9, split="holdout")])


def test_sound_lines_with_a_wrong_label_are_named_by_line(ws, capsys, monkeypatch):
    lines = [dumps_row(event(i, label="cowbel" if i in (150, 260) else "kick")) for i in range(1, 301)]
    (ws.root / EVENTS).parent.mkdir(parents=True, exist_ok=True)
    (ws.root / EVENTS).write_bytes(b"\n".join(lines) + b"\n")
    results = outputs_by_mode(check_taxonomy, ws, EVENTS, capsys, monkeypatch)
    code, err = results["forked chunks"]
    assert code == 1
    assert [line.split(": ")[0] for line in err.splitlines()] == [f"{EVENTS}:150", f"{EVENTS}:260"]
    assert all(result == results["line by line"] for result in results.values())


def write_events(ws: Workspace, lines: list[bytes]) -> Path:
    path = ws.root / EVENTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def memo_of(path: Path) -> scanmemo.ScanFacts | None:
    return scanmemo.load(hashlib.sha256(path.read_bytes()).hexdigest())


def test_taxonomy_uses_the_schema_hooks_memo_of_the_same_content(ws, capsys, monkeypatch):
    path = write_events(ws, [dumps_row(crash_event(i) if i % 4 == 0 else event(i)) for i in range(40)])
    assert hook_output(check_schema, [EVENTS], capsys) == (0, "")
    facts = memo_of(path)
    assert facts is not None and facts.sound
    assert ("kick", (), (), None) in facts.label_keys
    with monkeypatch.context() as patch:
        patch.setattr(chunkscan, "map_chunks", lambda data, work: pytest.fail("scanned again"))
        assert hook_output(check_taxonomy, [EVENTS], capsys) == (0, "")
    write_events(ws, [dumps_row(event(i, label="cowbel" if i == 7 else "kick")) for i in range(40)])
    assert memo_of(path) is None
    code, err = hook_output(check_taxonomy, [EVENTS], capsys)
    assert code == 1 and err.startswith(f"{EVENTS}:8: unknown label 'cowbel'")


def test_a_memo_of_unsound_lines_sends_taxonomy_to_the_line_path(ws, capsys):
    path = write_events(ws, [dumps_row(event(0)), b"not json", dumps_row(event(2, label="cowbel"))])
    code, schema_err = hook_output(check_schema, [EVENTS], capsys)
    assert code == 1 and f"{EVENTS}:2: invalid JSON" in schema_err
    facts = memo_of(path)
    assert facts is not None and not facts.sound
    code, err = hook_output(check_taxonomy, [EVENTS], capsys)
    assert code == 1
    assert f"{EVENTS}:2: invalid JSON" in err and f"{EVENTS}:3: unknown label 'cowbel'" in err


def test_memo_round_trip_and_an_unwritable_cache(tmp_path, monkeypatch):
    facts = scanmemo.ScanFacts(
        True, frozenset({("crash", ("crash", "crash"), ("choke",), "crash_1"), (1, (), (), None)})
    )
    scanmemo.save("ab" * 32, facts)
    assert scanmemo.load("ab" * 32) == facts
    assert scanmemo.load("cd" * 32) is None
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / "not-a-folder"))
    (tmp_path / "not-a-folder").write_text("a file where the cache folder should be")
    scanmemo.save("ef" * 32, facts)
    assert scanmemo.load("ef" * 32) is None

"""More of the bad-input corpus (issue 13, items 5 and 11): JSON nested past the recursion limit or
holding lone surrogates, documents of the wrong shape (locks, reports, shard sidecars, sessions
rows), JSONL lines over the cap, E-GMD CSV fields over the csv limit, a FIFO for a MIDI file,
unbounded `--shard`, `demo --out` a file, merge targets outside the workspace, names too long to
write. Each runs through the real CLI: exit 1 or 2, one `path[:line]: reason` line, no traceback."""

from __future__ import annotations

import errno
import gzip
import io
import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import mido
import orjson
import pytest

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_bytes
from drumgate.io.jsonio import MAX_LINE_BYTES, encode_jsonl, read_json
from ingest.egmd.midi import parse_midi_bytes
from ingest.egmd.midi_scan import MAX_TICK
from tests.reliability.audio_inputs import measured_run
from tests.reliability.support import TRACEBACK, Run, finding_lines, make_workspace
from tests.reliability.test_bad_inputs import (
    EGMD_CSV,
    EGMD_INGEST,
    EVENTS,
    HEALTH,
    OLD_HEALTH,
    SESSIONS,
    SHARD,
    Case,
    assert_one_clean_finding,
    build_template,
    first_midi,
    health_argv,
    run_case,
    valid_events,
    write,
)

LOCK = "data/locks/egmd.lock.json"
TAXONOMY = "configs/technique_taxonomy.json"
CRASH = "configs/crash_dual_label.json"
SIDECAR = SHARD.format(2) + ".shard.json"
MERGE = ["merge", SHARD.format(1), SHARD.format(2)]
DEEP = b"[" * 100_000 + b"]" * 100_000
LONE_SURROGATE = '"\\ud800"'
OVER_CAP = MAX_LINE_BYTES + 1024


def json_of(root: Path, relative: str) -> Any:
    return orjson.loads((root / relative).read_bytes())


def document_case(name: str, relative: str, argv: Callable[[], list[str]], edit: Callable[[Any], bytes]) -> Case:
    """Replace a JSON document by `edit(its parsed content)` and run `argv()` on the workspace."""

    def build(root: Path) -> tuple[list[str], str]:
        write(root, relative, edit(json_of(root, relative)))
        return argv(), relative

    return Case(name, build)


def with_field(path: tuple[str, ...], value: Any) -> Callable[[Any], bytes]:
    """The document with the field at `path` set to `value` (JSON text, so surrogates stay escaped)."""

    def edit(document: Any) -> bytes:
        node = document
        for key in path[:-1]:
            node = node[key] if not key.startswith("*") else next(iter(node.values()))
        node[path[-1]] = "\0VALUE\0"
        return orjson.dumps(document).replace(b'"\\u0000VALUE\\u0000"', value.encode())

    return edit


def whole(content: bytes) -> Callable[[Any], bytes]:
    return lambda _document: content


def compare_argv() -> list[str]:
    return ["compare", OLD_HEALTH, HEALTH]


def diff_argv() -> list[str]:
    return ["diff", OLD_HEALTH, HEALTH]


def lock_case(name: str, edit: Callable[[Any], bytes]) -> Case:
    return document_case(f"lock-{name}", LOCK, health_argv, edit)


def report_case(name: str, argv: Callable[[], list[str]], edit: Callable[[Any], bytes]) -> Case:
    return document_case(f"report-{name}", HEALTH, argv, edit)


def sidecar_case(name: str, edit: Callable[[Any], bytes]) -> Case:
    return document_case(f"sidecar-{name}", SIDECAR, lambda: MERGE, edit)


def config_case(name: str, relative: str, edit: Callable[[Any], bytes]) -> Case:
    return document_case(f"config-{name}", relative, health_argv, edit)


DOCUMENT_CASES = [
    lock_case("deep-nesting", whole(DEEP)),
    lock_case("lone-surrogate-key", with_field(("artifacts",), '{' + LONE_SURROGATE + ': {}}')),
    lock_case("artifacts-is-a-list", with_field(("artifacts",), "[]")),
    lock_case("sha256-is-a-number", with_field(("artifacts", "*", "sha256"), "5")),
    lock_case("inputs-is-a-string", with_field(("artifacts", "*", "inputs"), '"configs"')),
    lock_case("group-is-a-number", with_field(("group",), "7")),
    lock_case("command-is-null", with_field(("artifacts", "*", "command"), "null")),
    report_case("deep-nesting", compare_argv, whole(DEEP)),
    report_case("lone-surrogate", compare_argv, with_field(("dataset",), LONE_SURROGATE)),
    report_case("totals-is-a-string", compare_argv, with_field(("totals",), '"many"')),
    report_case("classes-is-a-list", diff_argv, with_field(("classes",), "[]")),
    report_case("gates-is-an-object", diff_argv, with_field(("gates",), '{"a": 1}')),
    report_case("status-is-a-number", diff_argv, with_field(("status",), "5")),
    report_case("sessions-is-a-string", diff_argv, with_field(("sessions",), '"x"')),
    report_case("not-a-report", diff_argv, whole(b'{"kind": "recipe"}')),
    report_case("docs-gates-is-a-string", lambda: ["docs", "--date", "2026-01-15"], with_field(("gates",), '"ok"')),
    sidecar_case("deep-nesting", whole(DEEP)),
    sidecar_case("lone-surrogate-target", with_field(("target",), LONE_SURROGATE)),
    sidecar_case("shard-is-a-string", with_field(("shard",), '"2"')),
    sidecar_case("shards-is-huge", with_field(("shards",), "99999999999999999999")),
    sidecar_case("argv-is-a-string", with_field(("argv",), '"drumgate ingest egmd"')),
    sidecar_case("inputs-is-an-object", with_field(("inputs",), "{}")),
    config_case("taxonomy-deep-nesting", TAXONOMY, whole(b'{"classes": ' + DEEP + b"}")),
    config_case("taxonomy-lone-surrogate", TAXONOMY, with_field(("version",), LONE_SURROGATE)),
    config_case("crash-map-deep-nesting", CRASH, whole(DEEP)),
]


def merge_target_case(name: str, target: str, prepare: Callable[[Path], None] = lambda root: None) -> Case:
    """Both sidecars name `target`; merge must refuse to write it."""

    def build(root: Path) -> tuple[list[str], str]:
        prepare(root)
        for index in (1, 2):
            sidecar = SHARD.format(index) + ".shard.json"
            meta = {**json_of(root, sidecar), "target": target.format(root=root)}
            write(root, sidecar, orjson.dumps(meta))
        return MERGE, SHARD.format(1) + ".shard.json"

    return Case(f"merge-target-{name}", build)


def link_outside(root: Path) -> None:
    (root / "data" / "manifests" / "elsewhere").symlink_to(root.parent)


MERGE_CASES = [
    merge_target_case("absolute", "{root}/../stolen.jsonl"),
    merge_target_case("dot-dot", "../../outside_events.jsonl"),
    merge_target_case("through-a-link", "data/manifests/elsewhere/outside_events.jsonl", link_outside),
]


def sessions_case(name: str, field: str, value: Any) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        rows = [orjson.loads(line) for line in (root / SESSIONS).read_bytes().splitlines()]
        rows[1] = {key: item for key, item in {**rows[1], field: value}.items() if item is not DROP}
        write(root, SESSIONS, encode_jsonl(rows))
        return health_argv(), SESSIONS

    return Case(f"sessions-row-{name}", build)


DROP = object()
SESSIONS_CASES = [
    sessions_case("files-is-a-string", "files", "x"),
    sessions_case("status-is-a-number", "status", 5),
    sessions_case("no-session-id", "session_id", DROP),
    sessions_case("warnings-is-an-object", "warnings", {}),
    sessions_case("tier-is-null", "tier", None),
]


def long_line() -> bytes:
    return b'{"label": "' + b"x" * OVER_CAP + b'"}'


def long_line_events() -> bytes:
    lines = valid_events().splitlines(keepends=True)
    return b"".join([*lines[:3], long_line() + b"\n", *lines[3:]])


def events_case(name: str, relative: str, content: Callable[[], bytes], argv: Callable[[str], list[str]]) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        write(root, relative, content())
        return argv(relative), relative

    return Case(name, build)


def hook_schema(relative: str) -> list[str]:
    return ["hook", "schema", relative]


def shard_with_long_line(root: Path) -> tuple[list[str], str]:
    write(root, SHARD.format(2), (root / SHARD.format(2)).read_bytes() + long_line() + b"\n")
    return MERGE, SHARD.format(2)


LINE_CASES = [
    events_case("line-over-cap-health", EVENTS, long_line_events, health_argv),
    events_case("line-over-cap-health-gz", EVENTS + ".gz", lambda: gzip.compress(long_line_events(), mtime=0),
                health_argv),
    events_case("line-over-cap-hook-schema", EVENTS, long_line_events, hook_schema),
    events_case("line-over-cap-hook-schema-gz", EVENTS + ".gz", lambda: gzip.compress(long_line_events(), mtime=0),
                hook_schema),
    events_case("gz-inflating-past-the-chunk-cap", EVENTS + ".gz",
                lambda: gzip.compress(b"x" * (80 << 20), compresslevel=9, mtime=0), hook_schema),
    Case("line-over-cap-merge", shard_with_long_line),
]


def csv_long_field(root: Path) -> tuple[list[str], str]:
    lines = (root / EGMD_CSV).read_text(encoding="utf-8").splitlines()
    lines.insert(2, lines[1].replace(",", ',"' + "y" * 140_000 + '",', 1))
    write(root, EGMD_CSV, ("\n".join(lines) + "\n").encode())
    return EGMD_INGEST, EGMD_CSV


def midi_fifo(root: Path) -> tuple[list[str], str]:
    target = first_midi(root)
    (root / target).unlink()
    os.mkfifo(root / target)
    return EGMD_INGEST, target


def shard_case(name: str, shard: str) -> Case:
    return Case(f"shard-{name}", lambda root: ([*EGMD_INGEST, "--shard", shard], f"--shard {shard!r}"))


def demo_out_file(root: Path) -> tuple[list[str], str]:
    write(root, "demo-here", b"a file, not a folder\n")
    return ["demo", "--out", str(root / "demo-here")], str(root / "demo-here")


def demo_out_under_file(root: Path) -> tuple[list[str], str]:
    write(root, "demo-here", b"a file, not a folder\n")
    return ["demo", "--out", str(root / "demo-here" / "inside")], str(root / "demo-here" / "inside")


def merge_output_name_too_long(root: Path) -> tuple[list[str], str]:
    output = "data/manifests/" + "n" * 300 + ".jsonl"
    return [*MERGE, "--output", output], output


OTHER_CASES = [
    Case("csv-field-over-the-csv-limit", csv_long_field),
    Case("midi-is-a-fifo", midi_fifo),
    shard_case("huge-count", "1/99999999999999999999"),
    shard_case("huge-index", "99999999999999999999/1"),
    shard_case("over-the-shard-cap", "1/10001"),
    shard_case("arabic-digits", "\u0661/\u0662"),
    shard_case("underscore-digits", "1/1_0"),
    Case("demo-out-is-a-file", demo_out_file),
    Case("demo-out-under-a-file", demo_out_under_file),
    Case("merge-output-name-too-long", merge_output_name_too_long),
]

CASES = DOCUMENT_CASES + MERGE_CASES + SESSIONS_CASES + LINE_CASES + OTHER_CASES


def test_corpus_adds_at_least_forty_cases() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 40


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Run, str, Path]]:
    base = tmp_path_factory.mktemp("bad-formats")
    template = build_template(base / "_template")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case.name: pool.submit(run_case, case, template, base) for case in CASES}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gets_one_line(case: Case, results: dict[str, tuple[Run, str, Path]]) -> None:
    run, bad_path, root = results[case.name]
    assert_one_clean_finding(run, bad_path, root, case.codes)


def test_merge_never_writes_outside_the_workspace(results: dict[str, tuple[Run, str, Path]]) -> None:
    for name in ("merge-target-absolute", "merge-target-dot-dot", "merge-target-through-a-link"):
        root = results[name][2]
        assert not (root.parent / "stolen.jsonl").exists()
        assert not (root.parent / "outside_events.jsonl").exists()


def test_a_csv_row_over_the_limit_is_an_exclusion_not_the_end(results: dict[str, tuple[Run, str, Path]]) -> None:
    run = results["csv-field-over-the-csv-limit"][0]
    assert run.code == 1 and "field larger than field limit" in run.stderr, run.describe()


# In process: storage failures in any writer, a MIDI file past 2**23 ticks --------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG])
@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_storage_failure_while_writing_is_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, failing: str
) -> None:
    target = tmp_path / "reports" / "out.json"

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, failing, refuse)
    with pytest.raises(DrumgateError) as caught:
        atomic_write_bytes(target, b"{}\n")
    assert caught.value.path == target and os.strerror(code) in caught.value.message
    assert "\n" not in str(caught.value)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_name_too_long_to_create_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 300 + ".json")
    with pytest.raises(DrumgateError) as caught:
        atomic_write_bytes(target, b"{}\n")
    assert caught.value.path == target and list(tmp_path.iterdir()) == []


def high_ppq_midi(beats: int, ppq: int = 32_000) -> bytes:
    """A format-0 file at the highest usual PPQ whose last note lies past 2**23 ticks."""
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=400_000, time=0)])
    for _ in range(beats):
        track.append(mido.Message("note_on", note=36, velocity=90, time=ppq))
        track.append(mido.Message("note_off", note=36, velocity=0, time=10))
    buffer = io.BytesIO()
    mido.MidiFile(type=0, ticks_per_beat=ppq, tracks=[track]).save(file=buffer)
    return buffer.getvalue()


def test_a_midi_past_two_to_the_23_ticks_reads_like_mido() -> None:
    data = high_ppq_midi(beats=300)
    reference = mido.MidiFile(file=io.BytesIO(data))
    onsets, now = [], 0.0
    for message in reference:
        now += message.time
        if message.type == "note_on" and message.velocity:
            onsets.append(now)
    performance = parse_midi_bytes(data, "high_ppq.midi")
    assert int(performance.note_tick.max()) > MAX_TICK
    assert performance.notes == len(onsets) == 300
    assert performance.note_s.tolist() == pytest.approx(onsets, abs=1e-6)


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a": ' * 50_000 + "1" + "}" * 50_000])
def test_read_json_refuses_nesting_past_the_recursion_limit(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text)
    with pytest.raises(DrumgateError) as caught:
        read_json(path)
    assert caught.value.path == path


def test_read_json_refuses_a_lone_surrogate_but_reads_a_pair(tmp_path: Path) -> None:
    pair, lone = tmp_path / "pair.json", tmp_path / "lone.json"
    pair.write_text('{"name": "\\ud83e\\udd41"}')
    lone.write_text('{"name": "drum \\udd41"}')
    assert read_json(pair) == {"name": "\U0001f941"}
    with pytest.raises(DrumgateError, match="surrogate"):
        read_json(lone)


def test_a_gzip_json_document_is_never_inflated_past_its_cap(tmp_path: Path) -> None:
    from drumgate.io.jsonio import MAX_GZIP_DOCUMENT_BYTES

    path = tmp_path / "report.json.gz"
    write_gzip_bomb(path, MAX_GZIP_DOCUMENT_BYTES + (64 << 20))
    with pytest.raises(DrumgateError, match="inflates past") as caught:
        read_json(path)
    assert caught.value.path == path
    path.write_bytes(gzip.compress(b'{"kind": "health"}', mtime=0))
    assert read_json(path) == {"kind": "health"}


def test_demo_writes_nothing_over_an_existing_file(results: dict[str, tuple[Run, str, Path]]) -> None:
    root = results["demo-out-is-a-file"][2]
    assert (root / "demo-here").read_bytes() == b"a file, not a folder\n"


def test_fifo_case_finishes_with_a_finding_naming_it(results: dict[str, tuple[Run, str, Path]]) -> None:
    run, bad_path, _ = results["midi-is-a-fifo"]
    assert "not a regular file" in run.stderr, run.describe()
    assert Path(bad_path).name in run.stderr


def test_the_bounded_shard_parse_accepts_ordinary_values() -> None:
    from ingest.egmd import parse_shard

    assert parse_shard("2/4") == (2, 4)
    assert parse_shard("10000/10000") == (10_000, 10_000)


# Resource limits (item 5): a small JSONL input never costs gigabytes ---------------------------------

PEAK_LIMIT_MIB = 500
LINE_TOO_LONG = "line longer than"


def write_gzip_bomb(path: Path, inflated: int) -> None:
    """A gzip stream of `inflated` bytes of one unbroken line, written without holding it whole."""
    block = b"x" * (64 << 20)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with open(path, "wb") as handle:
        for _ in range(inflated // len(block)):
            handle.write(squeeze.compress(block))
        handle.write(squeeze.flush())


def write_one_long_line(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.write(b'{"label": "')
        for _ in range(size >> 20):
            handle.write(b"x" * (1 << 20))
        handle.write(b'"}\n')


RESOURCE_CASES = {
    "hook-schema-gzip-inflating-to-512-mib": (hook_schema, EVENTS + ".gz", lambda path: write_gzip_bomb(path, 1 << 29)),
    "health-gzip-inflating-to-512-mib": (health_argv, EVENTS + ".gz", lambda path: write_gzip_bomb(path, 1 << 29)),
    "health-one-200-mib-line": (health_argv, EVENTS, lambda path: write_one_long_line(path, 200 << 20)),
    "hook-schema-one-200-mib-line": (hook_schema, EVENTS, lambda path: write_one_long_line(path, 200 << 20)),
}


@pytest.mark.parametrize("name", sorted(RESOURCE_CASES))
def test_small_jsonl_input_stays_under_500_mib(name: str, tmp_path: Path) -> None:
    argv, relative, build = RESOURCE_CASES[name]
    root = make_workspace(tmp_path / "ws")
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    build(root / relative)
    command = argv(relative)
    words = 2 if command[0] == "hook" else 1
    measured = measured_run([*command[:words], "--workspace", str(root), *command[words:]], cwd=root)
    stored_mib = (root / relative).stat().st_size / (1 << 20)
    print(f"\n{name}: {stored_mib:.1f} MiB stored, exit {measured.run.code}, peak {measured.peak_mib:.0f} MiB, "
          f"{measured.seconds:.1f} s")
    assert measured.peak_mib < PEAK_LIMIT_MIB, measured.run.describe()
    assert measured.run.code in (1, 2) and TRACEBACK not in measured.run.output, measured.run.describe()
    lines = finding_lines(measured.run.stderr, relative, root)
    assert len(lines) == 1 and LINE_TOO_LONG in lines[0], measured.run.describe()


def test_the_lines_after_a_too_long_line_keep_their_numbers(tmp_path: Path) -> None:
    """health's block reader: the long line is one finding, the next bad line keeps its own number."""
    from drumgate.reports.health_scan import count_range

    path = tmp_path / "events.jsonl"
    lines = valid_events().splitlines(keepends=True)
    path.write_bytes(b"".join([lines[0], long_line() + b"\n", lines[1], b"{oops\n", *lines[2:]]))
    part = count_range(path, 0, path.stat().st_size, block_bytes=4096)
    assert [(error.line, LINE_TOO_LONG in error.message) for error in part.errors] == [(2, True), (4, False)]
    assert part.lines == len(lines) + 2
    assert sum(part.counts.labels.values()) == len(lines)

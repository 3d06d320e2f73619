"""The bad-input corpus: every malformed input, run through the real CLI, gets exit 1 or 2, one
`path[:line]: reason` line on stderr naming it, and no traceback."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import mido
import pytest

from drumgate.cli import COMMANDS
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.health_events import event_rows, session_rows
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.io.jsonio import encode_jsonl
from tests.reliability.support import CORRUPT, DATE, TRACEBACK, Run, finding_lines, make_workspace, run_drumgate

EVENTS = "data/manifests/egmd_events.jsonl"
SESSIONS = "data/manifests/egmd_sessions.jsonl"
HEALTH = f"reports/health/egmd_{DATE.replace('-', '')}.json"
OLD_HEALTH = "reports/health/egmd_20260110.json"
LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 123\n"

Builder = Callable[[Path], tuple[list[str], str]]


@dataclass(frozen=True)
class Case:
    name: str
    build: Builder
    codes: frozenset[int] = frozenset({1, 2})


def valid_events() -> bytes:
    return encode_jsonl(event_rows(60, sessions=4, items_per_session=2))


def with_bad_line(bad: bytes, at: int = 5) -> bytes:
    lines = valid_events().splitlines(keepends=True)
    return b"".join([*lines[:at], bad + b"\n", *lines[at:]])


def write(root: Path, relative: str, data: bytes) -> Path:
    """Replace a file by a new one (never in place: the case trees share unchanged files as hard links)."""
    target = root / relative
    if target.is_symlink() or target.is_file():
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def health_argv(events: str = EVENTS, *extra: str) -> list[str]:
    return ["health", "--events", events, "--date", DATE, *extra]


def events_case(name: str, content: bytes, command: str = "health") -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        write(root, EVENTS, content)
        if command == "weights":
            return ["weights", "--events", EVENTS, "--scheme", "inverse", "--date", DATE], EVENTS
        return health_argv(), EVENTS

    return Case(f"jsonl-{command}-{name}", build)


def row_edit(name: str, **changes: object) -> Case:
    rows = list(event_rows(60, sessions=4, items_per_session=2))
    rows[7] = {key: value for key, value in {**rows[7], **changes}.items() if value is not DELETE}
    return events_case(name, encode_jsonl(rows))


DELETE = object()

JSONL_CASES = [
    events_case("invalid-json", with_bad_line(b'{"event_id": "x",')),
    events_case("array-row", with_bad_line(b"[1, 2, 3]")),
    events_case("string-row", with_bad_line(b'"just a string"')),
    events_case("number-row", with_bad_line(b"42")),
    events_case("invalid-utf8", with_bad_line(b'{"label": "\xff\xfe"}')),
    events_case("nan", with_bad_line(b'{"onset_s": NaN}')),
    events_case("infinity", with_bad_line(b'{"onset_s": -Infinity}')),
    events_case("nul-bytes", with_bad_line(b"\x00\x00\x00")),
    events_case("deep-nesting", with_bad_line(b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}")),
    events_case("bom", b"\xef\xbb\xbf" + valid_events()),
    events_case("lfs-pointer", LFS),
    events_case("binary-garbage-line", with_bad_line(bytes(b for b in range(256) if b != 0x0A))),
    events_case("truncated-last-row", valid_events()[:-25]),
    events_case("invalid-json", with_bad_line(b"{not json}"), command="weights"),
    events_case("lfs-pointer", LFS, command="weights"),
    row_edit("missing-techniques", techniques=DELETE),
    row_edit("label-is-number", label=7),
    row_edit("velocity-is-list", velocity=[1, 2]),
    row_edit("split-unknown", split="holdout"),
]


def gz_case(name: str, damage: Callable[[bytes], bytes]) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        target = f"{EVENTS}.gz"
        write(root, target, damage(gzip.compress(valid_events(), mtime=0)))
        return health_argv(target), target

    return Case(f"gzip-{name}", build)


def flip_deflate(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[11] ^= 0x5A
    return bytes(damaged)


GZIP_CASES = [
    gz_case("truncated", lambda data: data[: len(data) // 2]),
    gz_case("not-gzip", lambda data: b"plain text, not gzip\n"),
    gz_case("bad-crc", lambda data: data[:-8] + b"\x00\x00\x00\x00" + data[-4:]),
    gz_case("corrupt-deflate", flip_deflate),
    gz_case("gzip-of-garbage", lambda data: gzip.compress(bytes(range(11, 256)) * 3, mtime=0)),
]


def sessions_case(name: str, content: bytes) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        write(root, SESSIONS, content)
        return health_argv(), SESSIONS

    return Case(f"sessions-{name}", build)


SESSIONS_CASES = [
    sessions_case("invalid-json", b'{"session_id": \n'),
    sessions_case("array-row", b"[]\n"),
    sessions_case("lfs-pointer", LFS),
]


def report_case(name: str, content: bytes, which: str = "base") -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        bad = OLD_HEALTH if which == "base" else HEALTH
        write(root, bad, content)
        return ["diff", OLD_HEALTH, HEALTH], bad

    return Case(f"json-diff-{which}-{name}", build)


def truncated_report(root: Path) -> tuple[list[str], str]:
    data = (root / OLD_HEALTH).read_bytes()
    write(root, OLD_HEALTH, data[: len(data) // 2])
    return ["diff", OLD_HEALTH, HEALTH], OLD_HEALTH


JSON_CASES = [
    report_case("invalid-json", b'{"dataset": "egmd",'),
    report_case("array", b"[1, 2]\n"),
    report_case("empty", b""),
    report_case("nan", b'{"dataset": "egmd", "totals": {"events": NaN}}\n'),
    report_case("lfs-pointer", LFS),
    report_case("invalid-utf8", b'{"dataset": "\xff"}\n'),
    report_case("string", b'"a health report"\n', which="head"),
    report_case("not-a-report", b'{"hello": "world"}\n', which="head"),
    Case("json-diff-base-truncated", truncated_report),
]


def config_case(name: str, relative: str, edit: Callable[[bytes], bytes]) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        target = root / relative
        write(root, relative, edit(target.read_bytes()))
        return health_argv(), relative

    return Case(f"config-{name}", build)


def replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        assert old in data, f"{old!r} not found in the config"
        return data.replace(old, new, 1)

    return edit


TOML = "configs/datasets.toml"
TAXONOMY = "configs/technique_taxonomy.json"
CRASH = "configs/crash_dual_label.json"
CONFIG_CASES = [
    config_case("toml-syntax", TOML, lambda data: data + b"\n[datasets.egmd\nbroken = \n"),
    config_case("toml-not-utf8", TOML, lambda data: data + b"\n# \xff\xfe\n"),
    config_case("toml-wrong-type", TOML, replace(b"min_sessions = 2", b'min_sessions = "two"')),
    config_case("toml-duplicate-table", TOML, lambda data: data + b"\n[datasets.egmd]\ntitle = 'again'\n"),
    config_case("toml-roots-not-list", TOML, replace(b'roots = [{ tier = "primary", path = "data/raw/egmd"',
                                                     b'roots_x = [{ tier = "primary", path = "data/raw/egmd"')),
    config_case("taxonomy-invalid-json", TAXONOMY, lambda data: data[: len(data) // 2]),
    config_case("taxonomy-not-object", TAXONOMY, lambda data: b"[]\n"),
    config_case("taxonomy-unknown-parent", TAXONOMY, replace(b'"id": "tom_high"', b'"id": "tom_high", "parent_x": 1')),
    config_case("crash-map-invalid-json", CRASH, lambda data: b"{" + data),
    config_case("crash-map-empty", CRASH, lambda data: b""),
]


def no_configs(root: Path) -> tuple[list[str], str]:
    empty = root / "elsewhere"
    empty.mkdir()
    return ["health", "--workspace", str(empty), "--events", EVENTS], str(empty)


def workspace_is_file(root: Path) -> tuple[list[str], str]:
    target = write(root, "a-file", b"hello\n")
    return ["health", "--workspace", str(target), "--events", EVENTS], str(target)


def events_folder(root: Path) -> tuple[list[str], str]:
    target = root / "data" / "manifests" / "folder_events.jsonl"
    target.mkdir(parents=True)
    return health_argv("data/manifests/folder_events.jsonl", "--dataset", "egmd"), "data/manifests/folder_events.jsonl"


def events_missing(root: Path) -> tuple[list[str], str]:
    return health_argv("data/manifests/gone_events.jsonl", "--dataset", "egmd"), "data/manifests/gone_events.jsonl"


def events_symlink_loop(root: Path) -> tuple[list[str], str]:
    loop = root / "data" / "manifests" / "loop_events.jsonl"
    os.symlink(loop.name, loop)
    return health_argv("data/manifests/loop_events.jsonl", "--dataset", "egmd"), "data/manifests/loop_events.jsonl"


def events_dangling(root: Path) -> tuple[list[str], str]:
    link = root / "data" / "manifests" / "dangling_events.jsonl"
    os.symlink("nowhere.jsonl", link)
    return health_argv("data/manifests/dangling_events.jsonl", "--dataset", "egmd"), str(link.relative_to(root))


def output_under_a_file(root: Path) -> tuple[list[str], str]:
    output = f"{EVENTS}/report.json"
    return health_argv(EVENTS, "--output", output), output


def output_is_folder(root: Path) -> tuple[list[str], str]:
    (root / "reports" / "out.json").mkdir(parents=True)
    return health_argv(EVENTS, "--output", "reports/out.json"), "reports/out.json"


def unknown_dataset_name(root: Path) -> tuple[list[str], str]:
    target = "data/manifests/nosuch_events.jsonl"
    shutil.copy(root / EVENTS, root / target)
    return health_argv(target), TOML


FILESYSTEM_CASES = [
    Case("fs-workspace-without-configs", no_configs),
    Case("fs-workspace-is-a-file", workspace_is_file),
    Case("fs-events-is-a-folder", events_folder),
    Case("fs-events-missing", events_missing),
    Case("fs-events-symlink-loop", events_symlink_loop),
    Case("fs-events-dangling-symlink", events_dangling),
    Case("fs-output-under-a-file", output_under_a_file),
    Case("fs-output-is-a-folder", output_is_folder),
    Case("fs-events-unknown-dataset", unknown_dataset_name),
]


def hook_case(name: str, hook: str, **changes: object) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        rows = list(event_rows(20, sessions=4, items_per_session=2))
        rows[3] = {**rows[3], **changes}
        write(root, EVENTS, encode_jsonl(rows))
        return ["hook", hook, EVENTS], EVENTS

    return Case(f"hook-{hook}-{name}", build)


HOOK_CASES = [
    hook_case("unknown-label", "taxonomy", label="cowbell_of_doom"),
    hook_case("technique-on-wrong-class", "taxonomy", techniques=["rimshot"], label="kick"),
    hook_case("unknown-technique", "taxonomy", techniques=["windmill"]),
    hook_case("bad-label-source", "schema", label_source="guess"),
    hook_case("negative-onset", "schema", onset_s=-1.0),
    hook_case("onset-is-string", "schema", onset_s="soon"),
    hook_case("labels-is-string", "schema", labels="crash"),
    hook_case("velocity-too-big", "schema", velocity=300),
]


def broken_schema(root: Path) -> tuple[list[str], str]:
    schema = "configs/schemas/events.schema.json"
    write(root, schema, (root / schema).read_bytes()[:-10])
    return ["hook", "schema", EVENTS], schema


HOOK_CASES.append(Case("hook-schema-schema-file-broken", broken_schema))


def checksum_case(name: str, content: bytes, command: str = "verify") -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        target = "data/archives/checksums/cambridge.sha256"
        write(root, target, content)
        (root / "data" / "raw" / "cambridge").mkdir(parents=True, exist_ok=True)
        write(root, "data/raw/cambridge/a/01_Kick.wav", b"RIFF")
        return ["checksums", command, "cambridge"], target

    return Case(f"checksums-{command}-{name}", build)


GOOD_SUM = "0" * 64
CHECKSUM_CASES = [
    checksum_case("not-hex", b"zzzz  primary/a/01_Kick.wav\n"),
    checksum_case("short-digest", b"abcd  primary/a/01_Kick.wav\n"),
    checksum_case("one-space", f"{GOOD_SUM} primary/a/01_Kick.wav\n".encode()),
    checksum_case("unknown-tier", f"{GOOD_SUM}  attic/a/01_Kick.wav\n".encode()),
    checksum_case("path-escapes-root", f"{GOOD_SUM}  primary/../../../etc/passwd\n".encode()),
    checksum_case("not-utf8", b"\xff\xfe\x00garbage\n"),
    checksum_case("lfs-pointer", LFS),
]

EGMD_CSV = "data/raw/egmd/e-gmd-v1.0.0.csv"
EGMD_INGEST = ["ingest", "egmd", "--date", DATE]


def first_midi(root: Path) -> str:
    egmd = root / "data" / "raw" / "egmd"
    return sorted(path.relative_to(root).as_posix() for path in egmd.rglob("*.midi"))[0]


def smf(track: bytes, fmt: int = 0, division: int = 480, tracks: int = 1) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, tracks, division) + b"MTrk" + struct.pack(">I", len(track)) + track


NOTE = b"\x00\x99\x24\x64"
END = b"\x00\xff\x2f\x00"


def midi_case(name: str, content: Callable[[bytes], bytes]) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        target = first_midi(root)
        write(root, target, content((root / target).read_bytes()))
        return EGMD_INGEST, target

    return Case(f"midi-{name}", build)


def realdata_file(name: str) -> Path:
    return CORRUPT / name


def from_realdata(relative: str) -> Callable[[bytes], bytes]:
    return lambda _data: realdata_file(relative).read_bytes()


def midi_missing(root: Path) -> tuple[list[str], str]:
    lines = (root / EGMD_CSV).read_text(encoding="utf-8").splitlines()
    write(root, EGMD_CSV, ("\n".join(edit_field(1, 9, "drummer9/nowhere/gone_1.midi")(lines)) + "\n").encode())
    return EGMD_INGEST, "data/raw/egmd/drummer9/nowhere/gone_1.midi"


def midi_folder(root: Path) -> tuple[list[str], str]:
    target = first_midi(root)
    (root / target).unlink()
    (root / target).mkdir()
    return EGMD_INGEST, target


MIDI_CASES = [
    Case("midi-missing", midi_missing),
    Case("midi-is-a-folder", midi_folder),
    midi_case("empty", lambda data: b""),
    midi_case("header-only", lambda data: data[:14]),
    midi_case("truncated-half", lambda data: data[: len(data) // 2]),
    midi_case("text-file", lambda data: b"this is not a MIDI file\n"),
    midi_case("format-2", lambda data: smf(NOTE + END, fmt=2)),
    midi_case("smpte-division", lambda data: smf(NOTE + END, division=0xE728)),
    midi_case("zero-ppq", lambda data: smf(NOTE + END, division=0)),
    midi_case("zero-tempo", lambda data: smf(b"\x00\xff\x51\x03\x00\x00\x00" + NOTE + END)),
    midi_case("running-status-without-status", lambda data: smf(b"\x00\x24\x64" + END)),
    midi_case("events-after-end", lambda data: smf(END + NOTE)),
    midi_case("delta-too-long", lambda data: smf(b"\xff" * 8 + b"\x7f\x99\x24\x64" + END)),
    midi_case("declares-more-tracks", lambda data: smf(NOTE + END, fmt=1, tracks=3)),
]
REALDATA_MIDI = ["midly/test-asset/PiDamaged.mid", "midly/test-asset/Beethoven.rmi"]
MIDI_CASES += [midi_case(f"realdata-{Path(name).name}", from_realdata(name)) for name in REALDATA_MIDI]


def csv_case(name: str, edit: Callable[[list[str]], list[str]], codes: frozenset[int] = frozenset({1, 2})) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        lines = (root / EGMD_CSV).read_text(encoding="utf-8").splitlines()
        write(root, EGMD_CSV, ("\n".join(edit(lines)) + "\n").encode("utf-8", "surrogateescape"))
        return EGMD_INGEST, EGMD_CSV

    return Case(f"csv-{name}", build, codes)


def edit_field(row: int, column: int, value: str) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        fields = lines[row].split(",")
        fields[column] = value
        return [*lines[:row], ",".join(fields), *lines[row + 1:]]

    return edit


CSV_CASES = [
    csv_case("missing-kit-column", lambda lines: [",".join(line.split(",")[:-1]) for line in lines]),
    csv_case("gmd-column-order", lambda lines: [lines[0].replace("duration,split,midi_filename,audio_filename",
                                                                 "midi_filename,audio_filename,duration,split"),
                                                *lines[1:]]),
    csv_case("header-only-garbage", lambda lines: ["a;b;c"]),
    csv_case("empty", lambda lines: [""]),
    csv_case("short-row", lambda lines: [*lines[:2], "drummer1,drummer1/session1", *lines[2:]]),
    csv_case("unterminated-quote", lambda lines: [*lines[:2], lines[2].replace(",rock,", ',"rock,'), *lines[3:]]),
    csv_case("bpm-not-a-number", edit_field(1, 4, "fast")),
    csv_case("duration-not-a-number", edit_field(1, 7, "long")),
    csv_case("split-mirdata-spelling", edit_field(1, 8, "valid")),
    csv_case("not-utf8", lambda lines: [*lines[:1], lines[1].replace("rock", "r\udcffck"), *lines[2:]]),
    csv_case("duplicate-render", lambda lines: [*lines, lines[1]]),
]


def stem_case(name: str, content: Callable[[bytes], bytes], stem: str = "AlphaBand_FirstLight/03_HiHat.wav") -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        target = f"data/raw/cambridge/{stem}"
        write(root, target, content((root / target).read_bytes()))
        return ["ingest", "cambridge"], target

    return Case(f"wav-cambridge-{name}", build)


def musdb_drums_case(name: str, content: Callable[[bytes], bytes]) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        target = next(path for path in sorted((root / "data" / "raw" / "musdb_hq").rglob("drums.wav")))
        relative = target.relative_to(root).as_posix()
        write(root, relative, content(target.read_bytes()))
        return ["ingest", "musdb", "--date", DATE], relative

    return Case(f"wav-musdb-{name}", build)


def egmd_audio_case(name: str, content: Callable[[bytes], bytes]) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        target = first_midi(root).replace(".midi", ".wav")
        write(root, target, content((root / target).read_bytes()))
        return EGMD_INGEST, target

    return Case(f"wav-egmd-{name}", build)


HOUND_FUZZ = sorted(path.name for path in (CORRUPT / "hound" / "testsamples" / "fuzz").glob("*.wav"))
WAV_CASES = [
    stem_case("empty", lambda data: b""),
    stem_case("riff-header-only", lambda data: data[:12]),
    stem_case("text-file", lambda data: b"not audio at all\n"),
    stem_case("fmt-chunk-cut", lambda data: data[:30]),
    stem_case("wrong-magic", lambda data: b"RIFX" + data[4:]),
    musdb_drums_case("empty", lambda data: b""),
    egmd_audio_case("text-file", lambda data: b"not audio\n"),
]
WAV_CASES += [
    stem_case(f"realdata-{name[:18]}", from_realdata(f"hound/testsamples/fuzz/{name}")) for name in HOUND_FUZZ
]


def command_on_bad_events(name: str, argv: list[str], content: bytes, named: str = EVENTS) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        write(root, EVENTS, content)
        return argv, named

    return Case(name, build)


def crash_variant_rows() -> bytes:
    rows = list(event_rows(60, sessions=4, items_per_session=2))
    rows[9] = {**rows[9], "label": "crash", "variant": "gong_of_doom"}
    return encode_jsonl(rows)


def broken_report(name: str, argv: list[str], relative: str) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        write(root, relative, b'{"dataset": "egmd", "totals": ')
        return argv, relative

    return Case(name, build)


def licence_case(name: str, content: bytes) -> Case:
    def build(root: Path) -> tuple[list[str], str]:
        note = "data/licenses/egmd.md"
        write(root, note, content)
        return ["hook", "licences", note], note

    return Case(f"licence-{name}", build)


def licence_folder(root: Path) -> tuple[list[str], str]:
    note = root / "data" / "licenses" / "egmd.md"
    note.unlink()
    note.mkdir()
    return ["hook", "licences", "data/licenses/egmd.md"], "data/licenses/egmd.md"


def checksum_mismatch(root: Path) -> tuple[list[str], str]:
    target = "data/archives/checksums/cambridge.sha256"
    write(root, target, f"{'0' * 64}  primary/AlphaBand_FirstLight/01_KickIn.wav\n".encode())
    return ["checksums", "verify", "cambridge"], target


SHARD = "data/manifests/egmd_events.shard-{}-of-2.jsonl"


def merge_missing_shard(root: Path) -> tuple[list[str], str]:
    (root / SHARD.format(2)).unlink()
    return ["merge", SHARD.format(1)], SHARD.format(1)


def merge_broken_sidecar(root: Path) -> tuple[list[str], str]:
    sidecar = SHARD.format(2) + ".shard.json"
    write(root, sidecar, b"{\n")
    return ["merge", SHARD.format(1), SHARD.format(2)], sidecar


def merge_malformed_row(root: Path) -> tuple[list[str], str]:
    write(root, SHARD.format(2), (root / SHARD.format(2)).read_bytes() + b"{oops\n")
    return ["merge", SHARD.format(1), SHARD.format(2)], SHARD.format(2)


OTHER_COMMAND_CASES = [
    Case("merge-missing-shard", merge_missing_shard),
    Case("merge-broken-sidecar", merge_broken_sidecar),
    Case("merge-malformed-row", merge_malformed_row),
    command_on_bad_events("crash-map-malformed-row", ["crash-map", "--events", EVENTS], with_bad_line(b"{oops")),
    command_on_bad_events("crash-map-unknown-variant", ["crash-map", "--events", EVENTS], crash_variant_rows(), CRASH),
    command_on_bad_events("combine-malformed-row", ["combine", "--date", DATE], with_bad_line(b"[]")),
    broken_report("docs-broken-report", ["docs", "--date", DATE], HEALTH),
    broken_report("compare-broken-report", ["compare", OLD_HEALTH, HEALTH], HEALTH),
    licence_case("no-front-matter", b"# E-GMD\nCC BY 4.0\n"),
    licence_case("unclosed-front-matter", b"---\nlicence: CC BY 4.0\n"),
    licence_case("line-not-key-value", b"---\nlicence CC BY 4.0\n---\n"),
    licence_case("missing-attribution", b"---\nlicence: CC BY 4.0\ncommercial_use: yes\nredistribution: yes\n"
                                        b"source: https://example.invalid\n---\n"),
    licence_case("not-utf8", b"---\nlicence: CC BY \xff\n---\n"),
    Case("checksums-verify-digest-mismatch", checksum_mismatch),
    Case("licence-is-a-folder", licence_folder),
]


CASES = JSONL_CASES + GZIP_CASES + SESSIONS_CASES + JSON_CASES + CONFIG_CASES + FILESYSTEM_CASES + HOOK_CASES
CASES += CHECKSUM_CASES + MIDI_CASES + CSV_CASES + WAV_CASES + OTHER_COMMAND_CASES
NEEDS_REALDATA = {case.name for case in CASES if "realdata" in case.name}


def build_template(root: Path) -> Path:
    make_workspace(root)
    raw = root / "data" / "raw"
    make_egmd_corpus(raw / "egmd", seed=7)
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=7)
    make_musdb_corpus(raw / "musdb_hq", seed=7, seconds=2.0)
    write(root, EVENTS, valid_events())
    write(root, SESSIONS, encode_jsonl(session_rows(4, items_per_session=2)))
    for date in ("2026-01-10", DATE):
        run = run_drumgate(["health", "--events", EVENTS, "--date", date], cwd=root)
        assert run.code in (0, 1), run.describe()
    for shard in ("1/2", "2/2"):
        run = run_drumgate([*EGMD_INGEST, "--shard", shard], cwd=root, env={"DRUMGATE_WORKSPACE": str(root)})
        assert run.code in (0, 1), run.describe()
    return root


def link_all_but_locks(source: str, target: str) -> None:
    """Hard-link the template's files (fast), but copy lock files: a linked `.lck` is one inode,
    so every case would wait on the same group lock and the cases would run one at a time."""
    if source.endswith(".lck"):
        shutil.copy2(source, target)
    else:
        os.link(source, target)


def run_case(case: Case, template: Path, base: Path) -> tuple[Run, str, Path]:
    root = base / case.name
    shutil.copytree(template, root, symlinks=True, copy_function=link_all_but_locks)
    argv, bad_path = case.build(root)
    if "--workspace" not in argv:
        words = 2 if isinstance(COMMANDS.get(argv[0]), dict) else 1
        argv = [*argv[:words], "--workspace", str(root), *argv[words:]]
    return run_drumgate(argv, cwd=root, timeout=60), bad_path, root


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Run, str, Path]]:
    base = tmp_path_factory.mktemp("bad-inputs")
    template = build_template(base / "_template")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case.name: pool.submit(run_case, case, template, base) for case in runnable(CASES)}
        return {name: future.result() for name, future in futures.items()}


def assert_one_clean_finding(run: Run, bad_path: str, root: Path, codes: frozenset[int]) -> None:
    assert TRACEBACK not in run.output, run.describe()
    assert "drumgate: internal error" not in run.stderr, run.describe()
    assert run.code in codes, run.describe()
    lines = finding_lines(run.stderr, bad_path, root)
    assert len(lines) == 1, f"expected one `{bad_path}[:line]: reason` line\n{run.describe()}"


def test_corpus_is_large_enough() -> None:
    assert len({case.name for case in CASES}) == len(CASES)
    assert len(CASES) >= 50


def runnable(cases: list[Case]) -> list[Case]:
    return [case for case in cases if case.name not in NEEDS_REALDATA or CORRUPT.is_dir()]


def parametrized(cases: list[Case]) -> list[object]:
    absent = pytest.mark.skip(reason=f"real corrupt files folder {CORRUPT} is absent")
    return [pytest.param(case, id=case.name, marks=[absent] if case not in runnable(cases) else []) for case in cases]


@pytest.mark.parametrize("case", parametrized(CASES))
def test_bad_input_gets_one_line(case: Case, results: dict[str, tuple[Run, str, Path]]) -> None:
    run, bad_path, root = results[case.name]
    assert_one_clean_finding(run, bad_path, root, case.codes)


def test_git_is_available_for_the_suite() -> None:
    assert subprocess.run(["git", "--version"], capture_output=True, check=False).returncode == 0


VALID_ODD_MIDI = ["midly/test-asset/Clementi.mid", "midly/test-asset/SysExTest.mid"]
VALID_ODD_WAV = sorted(path.name for path in (CORRUPT / "hound" / "testsamples").glob("*.wav"))
needs_corrupt_folder = pytest.mark.skipif(not CORRUPT.is_dir(), reason=f"{CORRUPT} is absent")


@needs_corrupt_folder
@pytest.mark.parametrize("name", VALID_ODD_MIDI)
def test_odd_but_valid_real_midi_reads_like_mido(name: str) -> None:
    from ingest.egmd.midi import parse_midi_bytes

    data = (CORRUPT / name).read_bytes()
    expected = sum(1 for msg in mido.MidiFile(file=io.BytesIO(data)) if msg.type == "note_on" and msg.velocity)
    assert parse_midi_bytes(data, name).notes == expected


@needs_corrupt_folder
def test_odd_but_valid_real_wavs_are_inventoried(tmp_path: Path) -> None:
    """WAVE_FORMAT_EXTENSIBLE, 8/24/32-bit, float, extra fmt bytes: stems, not findings."""
    root = make_workspace(tmp_path / "ws")
    session = root / "data" / "raw" / "cambridge" / "Odd_Formats"
    session.mkdir(parents=True)
    for index, name in enumerate(VALID_ODD_WAV, start=1):
        shutil.copy(CORRUPT / "hound" / "testsamples" / name, session / f"{index:02d}_Kick{index}.wav")
    run = run_drumgate(["ingest", "cambridge", "--workspace", str(root)], cwd=root)
    assert run.code == 0, run.describe()
    assert TRACEBACK not in run.output
    assert "unreadable" not in run.output, run.describe()

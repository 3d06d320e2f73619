"""The bad-input corpus: every malformed input, run through the real CLI, gets exit 1 or 2, one
`path[:line]: reason` line on stderr naming it, and no traceback."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from drumgate.fixtures.health_events import event_rows, session_rows
from drumgate.jsonio import encode_jsonl
from tests.reliability.support import DATE, TRACEBACK, Run, finding_lines, make_workspace, run_drumgate

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

CASES = JSONL_CASES + GZIP_CASES + SESSIONS_CASES + JSON_CASES + CONFIG_CASES + FILESYSTEM_CASES + HOOK_CASES
CASES += CHECKSUM_CASES


def build_template(root: Path) -> Path:
    make_workspace(root)
    write(root, EVENTS, valid_events())
    write(root, SESSIONS, encode_jsonl(session_rows(4, items_per_session=2)))
    for date in ("2026-01-10", DATE):
        run = run_drumgate(["health", "--events", EVENTS, "--date", date], cwd=root)
        assert run.code in (0, 1), run.describe()
    return root


def run_case(case: Case, template: Path, base: Path) -> tuple[Run, str, Path]:
    root = base / case.name
    shutil.copytree(template, root, symlinks=True)
    argv, bad_path = case.build(root)
    if "--workspace" not in argv:
        argv = [argv[0], *([argv[1]] if argv[0] == "hook" else []), "--workspace", str(root),
                *argv[2 if argv[0] == "hook" else 1:]]
    return run_drumgate(argv, cwd=root, timeout=60), bad_path, root


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Run, str, Path]]:
    base = tmp_path_factory.mktemp("bad-inputs")
    template = build_template(base / "_template")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case.name: pool.submit(run_case, case, template, base) for case in CASES}
        return {name: future.result() for name, future in futures.items()}


def assert_one_clean_finding(run: Run, bad_path: str, root: Path, codes: frozenset[int]) -> None:
    assert TRACEBACK not in run.output, run.describe()
    assert "internal error" not in run.stderr, run.describe()
    assert run.code in codes, run.describe()
    lines = finding_lines(run.stderr, bad_path, root)
    assert len(lines) == 1, f"expected one `{bad_path}[:line]: reason` line\n{run.describe()}"


def test_corpus_is_large_enough() -> None:
    assert len({case.name for case in CASES}) == len(CASES)
    assert len(CASES) >= 50


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_gets_one_line(case: Case, results: dict[str, tuple[Run, str, Path]]) -> None:
    run, bad_path, root = results[case.name]
    assert_one_clean_finding(run, bad_path, root, case.codes)


def test_git_is_available_for_the_suite() -> None:
    assert subprocess.run(["git", "--version"], capture_output=True, check=False).returncode == 0

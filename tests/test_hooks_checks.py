"""Each hook's main([...]) on real broken files: exit code and the one-line message with its fix."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from checks import check_checksums, check_licences, check_schema, check_taxonomy
from drumgate.io.jsonio import dumps_row
from tests.hooks_support import crash_event, event, make_workspace, write_group
from tests.hooks_support import run_hook as hook_main

EVENTS = "data/manifests/egmd_events.jsonl"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 12345\n"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    workspace = make_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / ".cache"))
    return workspace


def write_lines(path: Path, lines: list[bytes]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path.as_posix()


def run_hook(module, argv, capsys):
    code = hook_main(module, argv)
    return code, capsys.readouterr().err


def test_schema_accepts_a_sound_group(ws, capsys):
    paths = write_group(ws)
    names = [ws.rel(p) for p in paths.values()]
    assert run_hook(check_schema, names, capsys) == (0, "")


def test_schema_reports_every_bad_line_and_keeps_neighbours(ws, capsys):
    good = dumps_row(event(0))
    lines = [
        good,
        b'{"event_id": "x", ',
        dumps_row(event(2)).replace(b'"onset_s":0.5', b'"onset_s":NaN'),
        b'{"label":"kick","label":"snare"}',
        dumps_row(event(4, velocity="loud")),
        dumps_row(event(5, onset_s=-1.0)),
        good,
    ]
    write_lines(ws.root / EVENTS, lines)
    code, err = run_hook(check_schema, [EVENTS], capsys)
    assert code == 1
    out = err.splitlines()
    assert any(line.startswith(f"{EVENTS}:2: invalid JSON") for line in out)
    assert any(line.startswith(f"{EVENTS}:3: invalid JSON: NaN or Infinity") for line in out)
    assert any(line.startswith(f"{EVENTS}:4: duplicate key 'label'") for line in out)
    assert any(line.startswith(f"{EVENTS}:5: $.velocity: 'loud' is not of type") for line in out)
    assert any(line.startswith(f"{EVENTS}:6: $.onset_s: -1.0 is less than the minimum of 0") for line in out)
    assert not any(f"{EVENTS}:1:" in line or f"{EVENTS}:7:" in line for line in out)
    assert all("(fix: " in line for line in out)


def test_schema_fix_hint_is_the_recorded_command(ws, capsys):
    write_group(ws)
    write_lines(ws.root / EVENTS, [dumps_row(event(0, split="holdout"))])
    code, err = run_hook(check_schema, [EVENTS], capsys)
    assert code == 1
    assert "$.split: 'holdout' is not one of" in err
    assert "(fix: drumgate ingest egmd --output data/manifests/egmd_events.jsonl)" in err


def test_schema_reads_gzip_manifests(ws, capsys):
    path = ws.root / "data/manifests/egmd_events.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(dumps_row(event(0)) + b"\n" + dumps_row(event(1, label=7)) + b"\n"))
    code, err = run_hook(check_schema, ["data/manifests/egmd_events.jsonl.gz"], capsys)
    assert code == 1
    assert "egmd_events.jsonl.gz:2: $.label: 7 is not of type 'string'" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (LFS_POINTER, "Git LFS pointer, not the manifest (fix: run git lfs pull)"),
        (b"", "empty manifest (no rows)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary content, not JSON lines"),
    ],
)
def test_schema_on_unusable_manifests(ws, capsys, content, expected):
    (ws.root / EVENTS).parent.mkdir(parents=True)
    (ws.root / EVENTS).write_bytes(content)
    code, err = run_hook(check_schema, [EVENTS], capsys)
    assert code == 1
    assert expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (LFS_POINTER, "LFS pointer, not the file (fix: run git lfs pull)"),
        (b"", "empty file, expected a JSON document"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": NaN}', "NaN is not valid JSON"),
        (b"\x00\x01\x02", "binary content"),
        (b'{"schema_version": 1, "group": "egmd"}', "$: 'artifacts' is a required property"),
    ],
)
def test_schema_on_bad_lock_documents(ws, capsys, content, expected):
    path = ws.root / "data/locks/egmd.lock.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    code, err = run_hook(check_schema, ["data/locks/egmd.lock.json"], capsys)
    assert code == 1
    assert expected in err


def test_schema_names_the_json_path_in_a_health_report(ws, capsys):
    paths = write_group(ws)
    report = json.loads(paths["health"].read_text())
    report["totals"]["events"] = "five"
    paths["health"].write_text(json.dumps(report))
    code, err = run_hook(check_schema, [ws.rel(paths["health"])], capsys)
    assert code == 1
    assert "$.totals.events: 'five' is not of type 'integer'" in err
    assert "edited" not in err and "(fix: drumgate health egmd --date 2024-01-05)" in err


def test_taxonomy_accepts_aliases_and_dual_labels(ws, capsys):
    write_lines(
        ws.root / EVENTS,
        [
            dumps_row(event(0, label="bd")),
            dumps_row(crash_event(1)),
            dumps_row(event(2, label="sd", techniques=["rimshot"])),
        ],
    )
    assert run_hook(check_taxonomy, [EVENTS], capsys) == (0, "")


def test_taxonomy_findings(ws, capsys):
    crash_without_dual = crash_event(3)
    crash_without_dual["labels"] = []
    lines = [
        dumps_row(event(0, label="cowbel")),
        dumps_row(event(1, techniques=["rimshot"])),
        dumps_row(event(2, label="snare", techniques=["laser"])),
        dumps_row(crash_without_dual),
        dumps_row(event(4, label="crash", labels=["crash", "splash"], variant="mystery_crash")),
        dumps_row(event(5, labels=["kick", "kick"])),
        b"not json",
        dumps_row(event(7, label="cowbel")),
    ]
    write_lines(ws.root / EVENTS, lines)
    code, err = run_hook(check_taxonomy, [EVENTS], capsys)
    assert code == 1
    assert f"{EVENTS}:1: unknown label 'cowbel' (fix: use an id or alias" in err
    assert f"{EVENTS}:2: technique 'rimshot' does not apply to class 'kick'" in err
    assert f"{EVENTS}:3: unknown technique 'laser'" in err
    assert f"{EVENTS}:4: crash variant 'crash_1' needs labels ['crash', 'crash'], found []" in err
    assert f"{EVENTS}:5: crash variant 'mystery_crash' is not in configs/crash_dual_label.json" in err
    assert f"{EVENTS}:6: labels ['kick', 'kick'] on a 'kick' event" in err
    assert f"{EVENTS}:7: invalid JSON" in err
    assert f"{EVENTS}:8: unknown label 'cowbel'" in err


def test_taxonomy_blocks_an_unsound_taxonomy_file(ws, capsys):
    path = ws.configs / "technique_taxonomy.json"
    taxonomy = json.loads(path.read_text())
    taxonomy["classes"][0]["parent"] = "no_such_class"
    path.write_text(json.dumps(taxonomy))
    code, err = run_hook(check_taxonomy, ["configs/technique_taxonomy.json"], capsys)
    assert code == 1
    assert "unknown parent 'no_such_class'" in err


def test_taxonomy_on_lfs_pointer_and_empty(ws, capsys):
    (ws.root / EVENTS).parent.mkdir(parents=True)
    (ws.root / EVENTS).write_bytes(LFS_POINTER)
    other = "data/manifests/cambridge_events.jsonl"
    (ws.root / other).write_bytes(b"")
    code, err = run_hook(check_taxonomy, [EVENTS, other], capsys)
    assert code == 1
    assert "LFS pointer" in err and "git lfs pull" in err
    assert f"{other}: empty manifest" in err


def test_checksums_accepts_a_sound_group(ws, capsys):
    paths = write_group(ws)
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"]), ws.rel(paths["provenance"])], capsys)
    assert (code, err) == (0, "")


def test_checksums_manifest_format_problems(ws, capsys):
    write_group(ws)
    sha = "a" * 64
    bad = [
        f"{sha}  primary/s1/b.wav",
        f"{sha}  primary/s1/a.wav",
        f"{sha}  primary/s1/a.wav",
        f"{sha}  primary/../etc/passwd",
        f"{sha}  /abs/path.wav",
        f"{sha.upper()}  primary/s1/c.wav",
        f"{sha} primary/s1/d.wav",
    ]
    manifest = ws.checksums("egmd")
    manifest.write_text("\n".join(bad) + "\n")
    code, err = run_hook(check_checksums, [ws.rel(manifest)], capsys)
    assert code == 1
    rel = ws.rel(manifest)
    assert f"{rel}:2: entries are not sorted by path" in err
    assert f"{rel}:3: duplicate entry (first on line 2)" in err
    assert f"{rel}:4: path climbs out of its root with '..'" in err
    assert f"{rel}:5: absolute path" in err
    assert f"{rel}:6: not `<64 lowercase hex sha256>" in err
    assert f"{rel}:7: not `<64 lowercase hex sha256>" in err


def test_checksums_provenance_hash_must_match_the_manifest(ws, capsys):
    paths = write_group(ws)
    rows = [json.loads(line) for line in paths["provenance"].read_text().splitlines()]
    rows[0]["source_files"][0]["sha256"] = "0" * 64
    rows[0]["source_files"].append({"path": "s1/extra.wav", "sha256": "1" * 64, "bytes": 3})
    paths["provenance"].write_bytes(b"".join(dumps_row(row) + b"\n" for row in rows))
    code, err = run_hook(check_checksums, [ws.rel(paths["provenance"])], capsys)
    assert code == 1
    assert "provenance.jsonl:1: primary/s1/take.mid: sha256 000000000000... differs from the checksum manifest" in err
    assert "s1/extra.wav: not in the checksum manifest data/archives/checksums/egmd.sha256" in err
    assert "(fix: drumgate checksums generate egmd)" in err


def test_checksums_verifies_changed_files_on_mounted_roots(ws, capsys):
    paths = write_group(ws)
    (ws.root / "data/raw/egmd/s1/take.wav").write_bytes(b"changed on disk")
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 1
    assert "egmd.sha256:2: primary/s1/take.wav: file on disk has sha256" in err
    assert "drumgate checksums generate egmd --update" in err


def test_checksums_skips_offline_tiers_with_a_note(ws, capsys, monkeypatch):
    paths = write_group(ws)
    monkeypatch.setenv("DRUMGATE_EGMD_ROOT", str(ws.root / "unmounted_drive"))
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 0
    assert "note: egmd tier 'primary' is offline: 2 files not verified" in err


def test_checksums_notes_a_tier_folder_that_holds_nothing_instead_of_failing_every_file(ws, capsys, monkeypatch):
    """The raw data elsewhere and its variable not set in this shell: the configured folder exists and is
    empty. A finding per file asked for `checksums generate --update`, which refuses an empty tier."""
    paths = write_group(ws)
    empty = ws.root / "elsewhere"
    empty.mkdir()
    monkeypatch.setenv("DRUMGATE_EGMD_ROOT", str(empty))
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 0, err
    assert err.strip().splitlines() == [
        "note: egmd tier 'primary' holds no files at elsewhere: 2 files not verified (set DRUMGATE_EGMD_ROOT to the"
        " folder that holds them, or put them there, to check them)"]
    (empty / "s1").mkdir()
    (empty / "s1" / "other.wav").write_bytes(b"a file, not one of those listed")
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 1 and err.count("missing on disk") == 2, "a tier holding files: each missing one is a finding"


def test_checksums_lfs_pointer_and_binary(ws, capsys):
    manifest = ws.checksums("egmd")
    manifest.parent.mkdir(parents=True)
    manifest.write_bytes(LFS_POINTER)
    code, err = run_hook(check_checksums, [ws.rel(manifest)], capsys)
    assert code == 1 and "LFS pointer" in err and "git lfs pull" in err
    manifest.write_bytes(b"\x00\xff\xfe binary\n")
    code, err = run_hook(check_checksums, [ws.rel(manifest)], capsys)
    assert code == 1 and "egmd.sha256:1:" in err


def test_checksums_full_tree_mode(ws, capsys):
    write_group(ws)
    assert hook_main(check_checksums, ["--all"]) == 0
    (ws.root / "data/raw/egmd/s1/new.wav").write_bytes(b"unlisted")
    assert hook_main(check_checksums, ["--all"]) == 1
    assert "not in the manifest (primary/s1/new.wav)" in capsys.readouterr().err


def test_licences_complete_missing_and_incomplete(ws, capsys):
    write_group(ws)
    assert run_hook(check_licences, [EVENTS], capsys) == (0, "")
    (ws.root / "data/licenses/egmd.md").write_text("---\nlicence: CC BY 4.0\ncommercial_use: yes\n---\n")
    code, err = run_hook(check_licences, [EVENTS], capsys)
    assert code == 1
    assert "data/licenses/egmd.md: licence note incomplete: no redistribution, attribution, source" in err
    (ws.root / "data/licenses/egmd.md").unlink()
    code, err = run_hook(check_licences, [EVENTS], capsys)
    assert code == 1 and "licence note for egmd is missing (it has staged artifacts)" in err
    (ws.root / "data/licenses/egmd.md").write_bytes(b"\x89\x00binary")
    code, err = run_hook(check_licences, [EVENTS], capsys)
    assert code == 1 and "egmd.md" in err and "Traceback" not in err


def test_licences_combined_group_needs_every_mixed_dataset(ws, capsys):
    # Issue 16: only a dataset combine would mix (a mix share and an events manifest) needs its note.
    write_lines(ws.root / "data/manifests/musdb_hq_events.jsonl", [b"{}"])
    (ws.root / "data/licenses/musdb_hq.md").unlink()
    write_lines(ws.root / "data/manifests/prod_combined_events.json", [b"{}"])  # a path given must exist
    code, err = run_hook(check_licences, ["data/manifests/prod_combined_events.json"], capsys)
    assert code == 1
    assert "licence note for musdb_hq is missing (prod_combined mixes it)" in err


def test_hooks_ignore_files_they_do_not_guard(ws, capsys):
    for name in ("README.md", "drumgate/cli/__init__.py"):  # there (a path that is not is a finding)
        write_lines(ws.root / name, [b"# not an artifact"])
    for module in (check_schema, check_taxonomy, check_checksums, check_licences):
        assert run_hook(module, ["README.md", "drumgate/cli/__init__.py"], capsys) == (0, "")


def test_empty_manifest_written_by_allow_empty_passes_but_a_hand_made_one_does_not(ws, capsys):
    from drumgate import cli

    assert cli.main(["ingest", "cambridge", "--allow-empty", "--workspace", str(ws.root)]) == 0
    sessions = "data/manifests/cambridge_sessions.jsonl"
    assert ws.path(sessions).read_bytes() == b""
    code, out = run_hook(check_schema, [sessions], capsys)
    assert code == 0, out
    code, out = run_hook(check_taxonomy, [sessions], capsys)
    assert code == 0, out
    (ws.root / "data" / "manifests" / "egmd_events.jsonl").write_bytes(b"")
    code, out = run_hook(check_schema, ["data/manifests/egmd_events.jsonl"], capsys)
    assert code == 1 and "empty manifest (no rows)" in out


def _record_checksums_root(ws, root: str) -> None:
    """The lock says the manifest was made by `checksums generate egmd --root <root>`."""
    from drumgate import lineage

    lineage.record(ws, "egmd", ws.checksums("egmd"), ["checksums", "generate", "egmd", "--root", root])


def test_checksums_recorded_root_missing_here_verifies_the_configured_root(ws, capsys):
    paths = write_group(ws)
    _record_checksums_root(ws, "altraw")  # another machine's folder: not here
    (ws.root / "data/raw/egmd/s1/take.wav").write_bytes(b"changed on disk")
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 1, err
    assert "offline" not in err
    assert "egmd.sha256:2: primary/s1/take.wav: file on disk has sha256" in err
    assert "(fix: restore the file, or accept it with drumgate checksums generate egmd --update)" in err


def test_checksums_root_variable_wins_over_the_recorded_root(ws, capsys, monkeypatch):
    import shutil

    paths = write_group(ws)
    shutil.copytree(ws.root / "data/raw/egmd", ws.root / "altraw")  # the recorded root: sound files
    _record_checksums_root(ws, "altraw")
    shutil.copytree(ws.root / "data/raw/egmd", ws.root / "elsewhere")
    (ws.root / "elsewhere/s1/take.wav").write_bytes(b"changed on disk")
    monkeypatch.setenv("DRUMGATE_EGMD_ROOT", str(ws.root / "elsewhere"))
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 1, err
    assert "egmd.sha256:2: primary/s1/take.wav: file on disk has sha256" in err
    monkeypatch.delenv("DRUMGATE_EGMD_ROOT")
    assert run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys) == (0, "")  # altraw is sound


def test_checksums_update_fix_names_the_recorded_root_and_works_as_printed(ws, capsys):
    import shlex

    from drumgate import cli

    paths = write_group(ws)
    (ws.root / "data/raw/egmd").rename(ws.root / "altraw")
    (ws.root / "data/raw/egmd").mkdir()  # the configured root: there, and empty
    _record_checksums_root(ws, "altraw")
    (ws.root / "altraw/s1/take.wav").write_bytes(b"changed on disk")
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 1, err
    fix = "drumgate checksums generate egmd --root altraw --update"
    assert f"(fix: restore the file, or accept it with {fix})" in err
    assert cli.main(shlex.split(fix)[1:]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys) == (0, "")


def test_checksums_reads_the_lock_for_a_fix_only_when_a_finding_needs_it(ws, capsys, monkeypatch):
    paths = write_group(ws)
    calls: list[str] = []

    def counted(workspace, dataset, restore_first=False):
        calls.append(dataset)
        return "fix: counted"

    monkeypatch.setattr(check_checksums, "reread_fix", counted)
    assert run_hook(check_checksums, [ws.rel(paths["provenance"])], capsys) == (0, "")
    assert calls == []
    rows = [json.loads(line) for line in paths["provenance"].read_text().splitlines()]
    rows[0]["source_files"][0]["sha256"] = "0" * 64
    paths["provenance"].write_bytes(b"".join(dumps_row(row) + b"\n" for row in rows))
    code, err = run_hook(check_checksums, [ws.rel(paths["provenance"])], capsys)
    assert code == 1 and "(fix: counted)" in err and calls == ["egmd"]


def test_checksums_full_tree_mode_reports_an_empty_tier_and_checks_the_next_dataset(ws, capsys):
    import shutil

    write_group(ws)
    shutil.rmtree(ws.root / "data/raw/egmd")
    (ws.root / "data/raw/egmd").mkdir()  # the configured root: there, and empty
    (ws.root / "data/raw/mdb_drums").mkdir(parents=True)
    ws.checksums("mdb_drums").write_text(f"{'a' * 64}  primary/t.wav\n")
    code = hook_main(check_checksums, ["--all"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "data/raw/egmd: holds no files, while data/archives/checksums/egmd.sha256 lists 2 files" in err
    assert "data/raw/mdb_drums: holds no files, while data/archives/checksums/mdb_drums.sha256 lists 1 files" in err


def test_reread_fix_without_a_recorded_ingest_names_the_root_the_manifest_was_made_from(ws, capsys):
    import shlex

    from drumgate import cli
    from drumgate.checksums.agreement import reread_fix

    write_group(ws)
    (ws.root / "data/raw/egmd").rename(ws.root / "altraw")
    (ws.root / "data/raw/egmd").mkdir()  # the configured root: there, and empty
    ws.lock_file("egmd").unlink()  # no ingest recorded: the manifest alone is made again
    _record_checksums_root(ws, "altraw")
    fix = reread_fix(ws, "egmd", restore_first=True)
    command = "drumgate checksums generate egmd --root altraw --update"  # as the manifest's own lines' fix
    assert fix == f"fix: restore the file, or accept it with {command}"
    (ws.root / "altraw/s1/take.wav").write_bytes(b"changed on disk")
    assert cli.main(shlex.split(command)[1:]) == 0, capsys.readouterr().err


def _commit_all(ws) -> None:
    import subprocess

    for argv in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"]):
        assert subprocess.run(["git", *argv], cwd=ws.root, capture_output=True).returncode == 0


def test_checksums_a_manifest_updated_without_its_provenance_is_a_finding_with_a_repro_fix(ws, capsys):
    paths = write_group(ws)
    _commit_all(ws)
    changed = ws.root / "data/raw/egmd/s1/take.wav"
    changed.write_bytes(b"changed on disk")
    import hashlib

    digest = hashlib.sha256(b"changed on disk").hexdigest()
    lines = paths["checksums"].read_text().splitlines()
    lines = [f"{digest}  primary/s1/take.wav" if line.endswith("  primary/s1/take.wav") else line for line in lines]
    paths["checksums"].write_text("".join(line + "\n" for line in lines))  # as `checksums generate --update` does
    code, err = run_hook(check_checksums, [ws.rel(paths["checksums"])], capsys)
    assert code == 1
    assert "egmd_provenance.jsonl:1: primary/s1/take.wav: sha256" in err and "differs from the checksum manifest" in err
    assert "drumgate repro egmd, then git add -A" in err or "drumgate ingest egmd" in err, err


def test_checksums_a_provenance_sha256_of_the_wrong_type_is_no_internal_error(ws, capsys):
    paths = write_group(ws)
    rows = [json.loads(line) for line in paths["provenance"].read_text().splitlines()]
    rows[0]["source_files"][0]["sha256"] = 5
    paths["provenance"].write_bytes(b"".join(dumps_row(row) + b"\n" for row in rows))
    code, err = run_hook(check_checksums, [ws.rel(paths["provenance"])], capsys)
    assert code in (0, 1) and "internal error" not in err


def test_a_provenance_row_missing_from_a_damaged_manifest_gets_the_damaged_lines_fix(ws, capsys):
    """`checksums generate` alone refuses a manifest with a damaged line: the row it no longer lists is
    mended by that line's fix (restore, or generate --update), not by a generate that exits 2."""
    paths = write_group(ws)
    manifest = paths["checksums"]
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join([lines[0].replace("  ", "\t", 1), *lines[1:]]) + "\n")
    code, err = run_hook(check_checksums, [ws.rel(manifest), ws.rel(paths["provenance"])], capsys)
    assert code == 1
    fixes = {line.split(" (fix: ", 1)[1] for line in err.strip().splitlines() if " (fix: " in line}
    # no commit holds the manifest: `git checkout HEAD` would change nothing, so it is not offered
    assert fixes == {"drumgate checksums generate egmd --update to hash its files again from disk, with every tier"
                     " mounted (a damaged line of an offline tier is dropped))"}, err

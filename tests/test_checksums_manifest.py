from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.checksums import StatCache, hash_files, parse_manifest, resolve_entry, tree
from drumgate.cli import checksums
from drumgate.io import statcache

HEX = "a" * 64


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / "cache"))


def _tree(ws) -> tuple[Path, Path]:
    primary = ws.root / "data" / "raw" / "cambridge"
    external = ws.root / "data" / "raw" / "cambridge_external"
    (primary / "S1").mkdir(parents=True)
    (external / "S2").mkdir(parents=True)
    (primary / "S1" / "01_Kick.wav").write_bytes(b"kick" * 100)
    (primary / "S1" / "02_Snare.wav").write_bytes(b"snare" * 100)
    (external / "S2" / "01_Kick.wav").write_bytes(b"other" * 100)
    return primary, external


def test_parse_manifest_reports_each_format_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.sha256"
    path.write_text(
        f"{HEX}  primary/b.wav\n{HEX}  primary/a.wav\n{HEX} *primary/c.wav\n{'A' * 64}  primary/d.wav\n"
        f"{HEX}  /abs.wav\n{HEX}  primary/../x.wav\n{HEX}  primary//y.wav\n{HEX}  nosuffix\n{HEX}  primary/b.wav\n"
    )
    entries, errors = parse_manifest(path)
    assert [e.path for e in entries] == ["primary/b.wav", "primary/a.wav"]
    lines = {err.line: err.message for err in errors}
    assert "not sorted" in lines[2]
    assert set(lines) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert "duplicate" in lines[9] and ".." in lines[6] and "absolute" in lines[5]


def test_parse_manifest_accepts_sorted_entries(tmp_path: Path) -> None:
    path = tmp_path / "ok.sha256"
    path.write_text(f"{HEX}  external/z.wav\n{HEX}  primary/a b.wav\n")
    entries, errors = parse_manifest(path)
    assert errors == [] and entries[1].tier == "primary" and entries[1].relative == "a b.wav"


def test_generate_verify_round_trip_with_changed_and_missing(workspace, capsys) -> None:
    primary, _ = _tree(workspace)
    assert checksums.main(["generate", "cambridge"]) == 0
    manifest = workspace.checksums("cambridge")
    entries, errors = parse_manifest(manifest)
    assert errors == [] and [e.path for e in entries] == [
        "external/S2/01_Kick.wav", "primary/S1/01_Kick.wav", "primary/S1/02_Snare.wav"]
    assert checksums.main(["verify", "cambridge"]) == 0
    before = manifest.read_bytes()
    (primary / "S1" / "01_Kick.wav").write_bytes(b"changed")
    (primary / "S1" / "02_Snare.wav").unlink()
    capsys.readouterr()
    assert checksums.main(["verify", "cambridge"]) == 1
    err = capsys.readouterr().err
    assert "primary/S1/01_Kick.wav: sha256 differs" in err and "primary/S1/02_Snare.wav: missing on disk" in err
    assert checksums.main(["generate", "cambridge"]) == 1
    assert manifest.read_bytes() == before, "generate must report changes, not rewrite them"
    assert checksums.main(["generate", "cambridge", "--update"]) == 0
    assert checksums.main(["verify", "cambridge"]) == 0
    assert len(parse_manifest(manifest)[0]) == 2


def test_offline_tier_is_skipped_with_a_note(workspace, capsys, monkeypatch) -> None:
    _, external = _tree(workspace)
    assert checksums.main(["generate", "cambridge"]) == 0
    shutil.rmtree(external)
    capsys.readouterr()
    assert checksums.main(["verify", "cambridge"]) == 0
    assert "tier external offline" in capsys.readouterr().out
    assert checksums.main(["generate", "cambridge"]) == 0
    assert "external/S2/01_Kick.wav" in workspace.checksums("cambridge").read_text()
    assert resolve_entry(workspace, "cambridge", "external/S2/01_Kick.wav") is None
    assert resolve_entry(workspace, "cambridge", "primary/S1/01_Kick.wav").is_file()


def test_stat_cache_skips_reading_unchanged_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(statcache, "SETTLED_NS", 0)  # the files below settle at once
    files = {f"primary/{i}.bin": tmp_path / f"{i}.bin" for i in range(5)}
    for i, path in enumerate(files.values()):
        path.write_bytes(os.urandom(1000 + i))
    cache = StatCache(tmp_path / "c.sqlite")
    cold = hash_files(files, cache, jobs=2)
    assert cold.hashed == 5 and cold.cache_hits == 0
    monkeypatch.setattr(tree, "sha256_file", lambda path: pytest.fail("read an unchanged file"))
    warm = hash_files(files, cache, jobs=2)
    assert warm.cache_hits == 5 and warm.digests == cold.digests
    cache.close()


def test_sha256sum_accepts_manifest_through_tier_links(workspace, tmp_path: Path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("coreutils sha256sum not installed")
    primary, external = _tree(workspace)
    assert checksums.main(["generate", "cambridge"]) == 0
    links = tmp_path / "links"
    links.mkdir()
    (links / "primary").symlink_to(primary)
    (links / "external").symlink_to(external)
    done = subprocess.run(["sha256sum", "-c", str(workspace.checksums("cambridge"))], cwd=links,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 3


def test_bad_tree_entries_are_reported_and_run_continues(workspace, capsys) -> None:
    primary, _ = _tree(workspace)
    (primary / "S1" / "loop").symlink_to("loop")
    (primary / "S1" / "escape.wav").symlink_to(workspace.root / "configs" / "datasets.toml")
    (primary / "S1" / "up").symlink_to(primary)
    os.makedirs(os.fsencode(primary / "S3"), exist_ok=True)
    with open(os.fsencode(primary / "S3") + b"/\xff\xfe.wav", "wb") as handle:
        handle.write(b"x")
    assert checksums.main(["generate", "cambridge"]) == 1
    err = capsys.readouterr().err
    assert "symlink loop" in err and "escapes its storage root" in err and "not valid UTF-8" in err
    assert "primary/S1/01_Kick.wav" in workspace.checksums("cambridge").read_text()


def test_a_file_that_cannot_be_read_is_a_finding_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    from drumgate.errors import DrumgateError

    files = {f"primary/{name}.bin": tmp_path / f"{name}.bin" for name in ("kept", "faulty")}
    for path in files.values():
        path.write_bytes(b"drums")

    def read_fails_on_faulty(path: Path) -> str:
        if path.name == "faulty.bin":
            raise DrumgateError("cannot read: Input/output error", path=path)
        return "0" * 64

    monkeypatch.setattr(tree, "sha256_file", read_fails_on_faulty)
    seen: list[tuple[int, int]] = []
    outcome = hash_files(files, None, jobs=2, on_progress=lambda done, total: seen.append((done, total)))
    assert outcome.digests == {"primary/kept.bin": "0" * 64} and outcome.hashed == 1
    assert outcome.problems == [f"{tmp_path / 'faulty.bin'}: cannot read: Input/output error"]
    assert seen == [(1, 2)]


def test_a_folder_it_may_not_list_is_worded_once_and_update_keeps_its_entries(workspace, capsys, monkeypatch) -> None:
    primary, _ = _tree(workspace)
    assert checksums.main(["generate", "cambridge"]) == 0
    manifest = workspace.checksums("cambridge")
    before = manifest.read_bytes()
    real_scandir = os.scandir

    def scandir(folder):  # what a folder without read or execute permission does for a user other than root
        if Path(folder) == primary / "S1":
            raise PermissionError(13, "Permission denied", str(folder))
        return real_scandir(folder)

    monkeypatch.setattr(tree.os, "scandir", scandir)
    capsys.readouterr()
    assert checksums.main(["verify", "cambridge"]) == 1
    err = capsys.readouterr().err
    assert "S1: cannot list folder: Permission denied (fix: chmod u+rx " in err
    assert "missing on disk" not in err and "internal error" not in err
    assert checksums.main(["generate", "cambridge", "--update"]) == 1
    assert manifest.read_bytes() == before, "entries of a folder it could not list are kept, not dropped"


def test_a_damaged_manifest_line_is_one_finding_whose_fix_works(workspace, capsys) -> None:
    _tree(workspace)
    assert checksums.main(["generate", "cambridge"]) == 0
    manifest = workspace.checksums("cambridge")
    lines = manifest.read_text().splitlines()
    lines[1] = lines[1][:30]  # cut short
    manifest.write_text("".join(line + "\n" for line in lines))
    capsys.readouterr()
    assert checksums.main(["verify", "cambridge"]) == 1
    found = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(found) == 1 and ":2: " in found[0] and "not in the manifest" not in found[0], found
    fix = found[0].split("(fix: ", 1)[1].rstrip(")").split(" or ")[-1]
    fix = fix.split(" to hash its files again from disk", 1)[0]
    assert fix.startswith("drumgate checksums generate cambridge --update"), fix
    assert checksums.main(fix.split()[2:]) == 0
    assert checksums.main(["verify", "cambridge"]) == 0


def test_a_manifest_converted_to_crlf_is_one_finding_and_its_entries_still_read(tmp_path: Path) -> None:
    path = tmp_path / "egmd.sha256"
    path.write_bytes(f"{HEX}  primary/a.wav\r\n{'b' * 64}  primary/b.wav\r\n".encode())
    entries, errors = parse_manifest(path)
    assert [e.path for e in entries] == ["primary/a.wav", "primary/b.wav"]
    assert [(err.line, err.message) for err in errors] == [(1, "CRLF line endings throughout (use LF)")]


def test_verify_names_the_manifest_from_the_workspace_root_and_its_fix_works(workspace, capsys) -> None:
    primary, _ = _tree(workspace)
    assert cli.main(["checksums", "generate", "cambridge"]) == 0
    with (primary / "S1" / "02_Snare.wav").open("ab") as changed:
        changed.write(b"x")
    capsys.readouterr()
    assert cli.main(["checksums", "verify", "cambridge"]) == 1
    found = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(found) == 1, found
    line = re.fullmatch(r"data/archives/checksums/cambridge\.sha256:3: primary/S1/02_Snare\.wav: sha256 differs"
                        r" \(file changed\) \(fix: restore it, or accept it with (.+)\)", found[0])
    assert line is not None, found[0]
    fix = shlex.split(line.group(1))
    assert fix == ["drumgate", "checksums", "generate", "cambridge", "--update"], fix
    assert cli.main(fix[1:]) == 0
    assert cli.main(["checksums", "verify", "cambridge"]) == 0

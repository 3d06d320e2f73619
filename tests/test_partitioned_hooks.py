"""The hooks on partitioned manifests (issue 15): real git, the real pre-commit hooks `drumgate init`
installs, an E-GMD group ingested with `--layout parts`.

Each hook recognises part paths (`<ds>_events/<part>.jsonl.gz`, `renders/`, `index.json`), names a
bad row by its part and line, and validates only parts whose bytes it has not passed before: the
verdicts live in the workspace's private `.drumgate/` folder, keyed by each part's sha256.
"""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.bench_corpus_scale import change_performances
from checks import check_checksums, check_schema, check_taxonomy
from checks._hookutil import SEEN_PARTS_NAME
from drumgate.artifacts import classify
from drumgate.io import parts
from tests.data_repo_support import commit_refused, committed_egmd_repo, drumgate, git, status
from tests.hooks_support import run_hook

DATE = "2026-01-15"
FOLDERS = ("data/manifests/egmd_events", "data/manifests/egmd_sessions", "data/provenance/egmd_provenance")


def regenerate(repo: Path) -> None:
    """What a user runs after raw data changes (the partitioned group's steps)."""
    steps = [("ingest", "egmd", "--layout", "parts", "--jobs", "2", "--date", DATE),
             ("checksums", "generate", "egmd", "--update"),
             ("health", "--events", "data/manifests/egmd_events", "--date", DATE),
             ("weights", "--events", "data/manifests/egmd_events", "--date", DATE)]
    for step in steps:
        done = drumgate(repo, *step)
        assert done.returncode in (0, 1), (step, done.stderr[-2000:])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A data repository whose partitioned E-GMD group is committed through the hooks."""
    return committed_egmd_repo(tmp_path, regenerate, "Ingest E-GMD as parts")


def part_files(repo: Path) -> dict[str, str]:
    """Every part of the group (renders included) -> sha256 of its bytes."""
    found = {}
    for folder in FOLDERS:
        for path in sorted((repo / folder).rglob(f"*{parts.PART_SUFFIX}")):
            found[path.relative_to(repo).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def passed(repo: Path, hook: str) -> set[str]:
    """The part digests a hook keeps as passed."""
    with sqlite3.connect(repo / ".drumgate" / SEEN_PARTS_NAME) as db:
        return {digest for (digest,) in db.execute("SELECT sha256 FROM passed WHERE hook=?", (hook,))}


def of_kind(files: dict[str, str], *kinds: str) -> set[str]:
    return {digest for name, digest in files.items() if (found := classify(name)) and found.kind in kinds}


def test_every_part_is_validated_once_and_the_verdicts_stay_private(repo: Path) -> None:
    files = part_files(repo)
    assert files and not status(repo)
    assert passed(repo, "schema") == set(files.values())
    assert passed(repo, "taxonomy") == of_kind(files, "events_part")
    assert passed(repo, "checksums") == of_kind(files, "provenance_part")
    cache = repo / ".drumgate"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert (cache / ".gitignore").read_text() == "*\n"
    assert not [name for name in git(repo, "ls-files").stdout.split() if name.startswith(".drumgate")]


def test_a_bad_row_in_one_part_is_blocked_naming_the_part_and_line(repo: Path) -> None:
    part = sorted((repo / FOLDERS[0]).glob(f"*{parts.PART_SUFFIX}"))[0]
    rows = [orjson.loads(line) for line in gzip.decompress(part.read_bytes()).splitlines()]
    rows[2] = {**rows[2], "label": "cowbell_of_doom", "velocity": "loud"}
    part.write_bytes(parts.gzip_rows(rows))
    output = commit_refused(repo, "a hand-edited part", part)
    name = part.relative_to(repo).as_posix()
    assert f"{name}:3: $.velocity: 'loud' is not of type" in output
    assert f"{name}:3: unknown label 'cowbell_of_doom'" in output
    assert f"{name}: sha256 differs from index.json" in output
    digest = hashlib.sha256(part.read_bytes()).hexdigest()
    assert digest not in passed(repo, "schema") | passed(repo, "taxonomy")  # a finding is never kept


def test_after_a_change_only_the_new_parts_are_validated(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = part_files(repo)
    change_performances(repo / "data" / "raw" / "egmd" / "e-gmd-v1.0.0.csv", 0.25)
    regenerate(repo)
    after = part_files(repo)
    changed = {name for name, digest in after.items() if before.get(name) != digest}
    assert changed and len(changed) < len(after)
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "one performance moves split")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert passed(repo, "schema") == set(before.values()) | set(after.values())

    # every part given to each hook again: the rows read are those of no part at all
    validated: list[str] = []

    def spy(name: str, real: Any) -> Any:
        def wrapper(ws: Any, artifact: Any, *args: Any) -> Any:
            validated.append(getattr(artifact, "path", artifact))
            return real(ws, artifact, *args)
        return wrapper

    monkeypatch.setattr(check_schema, "check_jsonl", spy("schema", check_schema.check_jsonl))
    monkeypatch.setattr(check_taxonomy, "check_manifest", spy("taxonomy", check_taxonomy.check_manifest))
    monkeypatch.setattr(check_checksums, "check_provenance_file",
                        spy("checksums", check_checksums.check_provenance_file))
    names = sorted(after)
    monkeypatch.chdir(repo)  # hooks take paths relative to the current folder, as pre-commit gives them
    for hook in (check_schema, check_taxonomy):
        assert run_hook(hook, ["--workspace", str(repo), *names]) == 0
    assert validated == []
    # a provenance part's verdict is under the checksum manifest, which the change rewrote: the parts
    # the commit did not stage are judged once under the new manifest, then never again
    assert run_hook(check_checksums, ["--workspace", str(repo), *names]) == 0
    assert set(validated) == {name for name in names if classify(name).kind == "provenance_part"} - changed
    validated.clear()
    assert run_hook(check_checksums, ["--workspace", str(repo), *names]) == 0
    assert validated == []
    # without the kept verdicts every part is read again: the skip was the cache's doing
    (repo / ".drumgate" / SEEN_PARTS_NAME).unlink()
    assert run_hook(check_schema, ["--workspace", str(repo), *names]) == 0
    assert sorted(validated) == names


def test_a_part_left_out_of_the_commit_is_named(repo: Path) -> None:
    before = part_files(repo)
    change_performances(repo / "data" / "raw" / "egmd" / "e-gmd-v1.0.0.csv", 0.25)
    regenerate(repo)
    changed = sorted(name for name, digest in part_files(repo).items() if before.get(name) != digest)
    left_out = changed[0]
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "reset", "-q", "--", left_out).returncode == 0
    output = commit_refused(repo, "a part left behind")
    assert "regenerated but left out of the commit" in output and left_out in output


def test_an_index_listing_a_missing_part_is_named_by_the_schema_hook(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = repo / FOLDERS[0]
    gone = folder / parts.read_index(folder)["parts"][0]["file"]
    gone.unlink()
    assert run_hook(check_schema, ["--workspace", str(repo), str(folder / parts.INDEX_NAME)]) == 1
    expected = f"{gone.relative_to(repo).as_posix()}: listed in index.json but missing (fix: drumgate repro egmd)"
    assert expected in capsys.readouterr().err

"""Which code made an artifact, also when drumgate runs from a wheel: setup.py records the commit in
builds, `ingest_commit()` prefers that record, then git, then `unknown`."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from drumgate.lineage import build_info, provenance
from drumgate.workspace import DEFAULTS
from tests.hooks_support import PROJECT
from tests.test_hooks_git import git, git_env

VERSION = importlib.metadata.version("drumgate")
SHA = "0123456789abcdef0123456789abcdef01234567"
# what the build needs from the working tree: the build step, the packaged code and the metadata
BUILT_PATHS = ("setup.py", "pyproject.toml", "README.md", *provenance.CODE_PATHS)
UNREACHABLE = ("No matching distribution found", "Could not find a version that satisfies")


def load_setup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drumgate_setup", PROJECT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: setup() does not run
    return module


@pytest.fixture
def fresh() -> Iterator[None]:
    provenance.ingest_commit.cache_clear()
    yield
    provenance.ingest_commit.cache_clear()


def fake_git(sha: str | None, status: str | None = ""):
    def git_text(args: list[str], cwd: Path) -> str | None:
        return sha if args[0] == "log" else status

    return git_text


def record(monkeypatch: pytest.MonkeyPatch, path: Path, data: bytes | None) -> None:
    if data is not None:
        path.write_bytes(data)
    monkeypatch.setattr(build_info, "BUILD_INFO", path)


def test_a_recorded_commit_wins_and_git_is_not_asked(fresh, tmp_path, monkeypatch):
    record(monkeypatch, tmp_path / "_build_info.json", json.dumps({"commit": f"{SHA}-dirty"}).encode())

    def no_git(args: list[str], cwd: Path) -> str | None:
        raise AssertionError("a built drumgate asked git")

    monkeypatch.setattr(provenance, "git_text", no_git)
    assert provenance.ingest_commit() == f"{SHA}-dirty"


@pytest.mark.parametrize(("status", "expected"), [("", SHA), (" M drumgate/cli/main.py", f"{SHA}-dirty")])
def test_without_a_record_git_names_the_checkout(fresh, tmp_path, monkeypatch, status, expected):
    record(monkeypatch, tmp_path / "absent.json", None)
    monkeypatch.setattr(provenance, "git_text", fake_git(SHA, status))
    assert provenance.ingest_commit() == expected


def test_without_a_record_or_git_the_commit_is_unknown(fresh, tmp_path, monkeypatch):
    record(monkeypatch, tmp_path / "absent.json", None)
    monkeypatch.setattr(provenance, "git_text", fake_git(None, None))
    assert provenance.ingest_commit() == "unknown"


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"not json", b"[]", b'{"commit": 5}', b'{"commit": "main"}',
                                  b'{"commit": "ABCDEF1"}', b'{"version": "0.1.0"}'])
def test_an_unusable_record_is_passed_over(fresh, tmp_path, monkeypatch, data):
    record(monkeypatch, tmp_path / "_build_info.json", data)
    monkeypatch.setattr(provenance, "git_text", fake_git(SHA))
    assert provenance.ingest_commit() == SHA


def test_a_record_is_used_only_if_the_provenance_schema_accepts_it():
    schema = json.loads((DEFAULTS / "configs" / "schemas" / "provenance.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["ingest_commit"]["pattern"] == f"^({build_info.RECORDED.pattern})$"


def test_the_checkout_holds_no_record_so_git_answers_there():
    assert build_info.BUILD_INFO == PROJECT / "drumgate" / "_build_info.json"
    assert not build_info.BUILD_INFO.exists()
    assert build_info.recorded_commit() is None


def test_the_build_step_reads_provenance_code_paths_and_file_name():
    setup = load_setup()
    assert setup.code_paths(PROJECT) == provenance.CODE_PATHS
    assert PROJECT / setup.BUILD_INFO == build_info.BUILD_INFO


def test_the_build_step_applies_the_checkout_rule(tmp_path):
    setup = load_setup()
    root, env = tmp_path / "tree", git_env(tmp_path)
    (root / setup.PROVENANCE).parent.mkdir(parents=True)
    shutil.copyfile(PROJECT / setup.PROVENANCE, root / setup.PROVENANCE)
    assert setup.tree_commit(root) == "unknown"  # not a git tree
    git(root, env, "init", "-q")
    git(root, env, "add", ".")
    git(root, env, "commit", "-q", "-m", "code")
    code = git(root, env, "rev-parse", "HEAD").stdout.strip()
    (root / "data.jsonl").write_text("{}\n")
    git(root, env, "add", ".")
    git(root, env, "commit", "-q", "-m", "data")  # committing data does not move it
    assert setup.tree_commit(root) == code
    info = setup.build_info(root, "9.9")
    assert info == setup.build_info(root, "9.9")
    assert json.loads(info) == {"commit": code, "version": "9.9"}
    (root / "drumgate" / "new.py").write_text("")
    assert setup.tree_commit(root) == f"{code}-dirty"


def test_an_unpacked_sdist_keeps_its_record(tmp_path):
    setup = load_setup()
    (tmp_path / "drumgate").mkdir()
    (tmp_path / setup.BUILD_INFO).write_bytes(b'{"commit": "%s", "version": "0.1.0"}\n' % SHA.encode())
    (tmp_path / "PKG-INFO").write_text("Name: drumgate\n")
    assert setup.build_info(tmp_path, "0.1.0") == (tmp_path / setup.BUILD_INFO).read_bytes()


# --- real builds ------------------------------------------------------------------------------


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=900)


def unreachable(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode != 0 and any(marker in done.stdout + done.stderr for marker in UNREACHABLE)


def built(done: subprocess.CompletedProcess[str], what: str) -> None:
    output = done.stdout + done.stderr
    if unreachable(done):
        pytest.skip(f"the build requirements of {what} cannot be installed here: {output[-400:]}")
    assert done.returncode == 0, output


def build_wheel(source: Path, out: Path) -> Path:
    """`pip wheel` of a source tree or sdist in pip's isolated build environment (the setuptools pyproject.toml
    asks for), else, with no index to fill it, with the setuptools of this environment."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    done = run(command, out.parent)
    if unreachable(done):
        done = run([*command, "--no-build-isolation"], out.parent)
        if done.returncode != 0:
            pytest.skip(f"no setuptools to build {source} with here: {(done.stdout + done.stderr)[-400:]}")
    built(done, str(source))
    (wheel,) = out.glob("drumgate-*.whl")
    return wheel


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A clone of the project with the working tree's code committed in it (a no-op on a clean tree),
    and the commit the build must record: git's answer for the clone, found without setup.py."""
    base = tmp_path_factory.mktemp("build")
    root, env = base / "clone", git_env(base)
    done = run(["git", "clone", "-q", str(PROJECT), str(root)], base)
    assert done.returncode == 0, done.stderr
    listed = git(PROJECT, env, "ls-files", "-z", "-co", "--exclude-standard", "--", *BUILT_PATHS).stdout
    for name in filter(None, listed.split("\0")):
        target = root / name
        if (PROJECT / name).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / name, target)
        else:
            target.unlink(missing_ok=True)
    git(root, env, "add", "-A")
    if git(root, env, "status", "--porcelain").stdout:
        git(root, env, "commit", "-q", "-m", "the working tree under test")
    commit = git(root, env, "log", "-1", "--format=%H", "--", *provenance.CODE_PATHS).stdout.strip()
    return root, commit


def wheel_record(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        return json.loads(archive.read("drumgate/_build_info.json"))


@pytest.mark.slow
def test_a_wheel_records_the_commit_of_the_tree_it_was_built_from(clone, tmp_path):
    root, commit = clone
    (tmp_path / "dist").mkdir()
    wheel = build_wheel(root, tmp_path / "dist")
    assert wheel_record(wheel) == {"commit": commit, "version": VERSION}
    assert not (root / "drumgate" / "_build_info.json").exists()  # the build never writes into the checkout
    assert git(root, git_env(tmp_path), "status", "--porcelain", "--", *provenance.CODE_PATHS).stdout == ""

    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from drumgate.lineage import provenance; "
             "print(provenance.__file__); print(provenance.ingest_commit())")
    done = run([sys.executable, "-c", probe, str(site)], tmp_path)  # away from any checkout
    assert done.returncode == 0, done.stderr
    module, recorded = done.stdout.splitlines()
    assert Path(module).is_relative_to(site)
    assert recorded == commit


@pytest.mark.slow
def test_a_wheel_built_from_the_sdist_keeps_the_record(clone, tmp_path):
    root, commit = clone
    builder = tmp_path / "builder"
    maker = venv.EnvBuilder(with_pip=True)
    maker.create(builder)
    python = maker.ensure_directories(builder).env_exe
    built(run([python, "-m", "pip", "install", "-q", "setuptools>=77"], tmp_path), "the sdist")
    sdist_step = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    done = run([python, "-c", sdist_step, str(tmp_path / "sdist")], root)
    assert done.returncode == 0, done.stderr
    sdist = tmp_path / "sdist" / done.stdout.splitlines()[-1]
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"{sdist.name.removesuffix('.tar.gz')}/drumgate/_build_info.json")
        assert member is not None
        assert json.loads(member.read()) == {"commit": commit, "version": VERSION}
    (tmp_path / "dist").mkdir()
    assert wheel_record(build_wheel(sdist, tmp_path / "dist")) == {"commit": commit, "version": VERSION}

"""The one build step pyproject.toml cannot declare: a built drumgate records which code it is.

An installed wheel has no git tree, so `ingest_commit()` could not say which commit made an
artifact. The build asks git instead, with the rule `drumgate.lineage.provenance` applies in a
checkout, and writes the answer to drumgate/_build_info.json in wheels and sdists, never into
the checkout, where git answers and a copy would go stale.
"""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
BUILD_INFO = Path("drumgate", "_build_info.json")
PROVENANCE = Path("drumgate", "lineage", "provenance.py")


def code_paths(root: Path) -> tuple[str, ...]:
    """provenance.py's CODE_PATHS, read without importing drumgate (its dependencies are not build requirements)."""
    for node in ast.parse((root / PROVENANCE).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "CODE_PATHS" for target in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError(f"{PROVENANCE} no longer assigns CODE_PATHS")


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, encoding="utf-8", errors="replace",
                              check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def tree_commit(root: Path) -> str:
    """The last commit that changed the code paths, `-dirty` with edits, `unknown` outside git."""
    paths = code_paths(root)
    sha = _git(root, "log", "-1", "--format=%H", "--", *paths)
    if not sha:
        return "unknown"
    return f"{sha}-dirty" if _git(root, "status", "--porcelain", "--", *paths) else sha


def build_info(root: Path, version: str) -> bytes:
    """An unpacked sdist's recorded file as it is (it has no git tree), else what git says of `root`."""
    recorded = root / BUILD_INFO
    if (root / "PKG-INFO").is_file() and recorded.is_file():
        return recorded.read_bytes()
    return (json.dumps({"commit": tree_commit(root), "version": version}, indent=2, sort_keys=True) + "\n").encode()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # an sdist's release tree hard-links the checkout's files: replace the link, never write through it
    path.unlink(missing_ok=True)
    path.write_bytes(data)


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install runs from the checkout, where git answers
            _write(Path(self.build_lib) / BUILD_INFO, build_info(ROOT, self.distribution.get_version()))


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _write(Path(base_dir) / BUILD_INFO, build_info(ROOT, self.distribution.get_version()))


if __name__ == "__main__":  # setuptools' build backend runs this file as __main__; tests import it
    setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})

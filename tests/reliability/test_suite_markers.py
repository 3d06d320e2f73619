"""The suite's own selection: `-m reliability` and `-m realdata` pick their folders and nothing else
(a conftest hook sees every collected test, not only its folder's)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT_ROOT

SAMPLE = [
    "tests/test_core_jsonio.py",
    "tests/realdata/test_egmd_realdata.py",
    "tests/reliability/test_property_taxonomy.py",
]


def collected(marker: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker, *SAMPLE],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )
    return [line.split("::")[0] for line in done.stdout.splitlines() if "::" in line]


def test_reliability_marker_selects_only_the_reliability_folder() -> None:
    files = set(collected("reliability"))
    assert files == {"tests/reliability/test_property_taxonomy.py"}


def test_realdata_marker_leaves_other_folders_alone() -> None:
    assert all(path.startswith("tests/realdata/") for path in collected("realdata"))

"""Start-up cost: `drumgate --help`, each hook on a trivial commit, and the demo with cold JIT caches.

Each command runs in a fresh process, hyperfine style: one warm-up run, then `RUNS` timed runs;
the median and the fastest are reported (target < 0.3 s). The floor is the interpreter itself
(`python -c pass`); the peer is what the same start would cost with the heavy libraries a hook
no longer imports. `python -X importtime` names the slowest imports of each command.

The demo row runs `drumgate demo` with an empty NUMBA_CACHE_DIR, so every numba function (the
MIDI reader's and technique pass's) compiles as on a fresh install; target < 30 s. Python's own .pyc files
are warm (pip writes them at install), so a first run after `pip install` is this plus reading
the packages from disk once.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
RUNS = 10
QUICK_RUNS = 3
TARGET_S = 0.3
DEMO_TARGET_S = 30.0
IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)")


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(tmp),
               DRUMGATE_CACHE_DIR=str(tmp / "cache"), DRUMGATE_NO_PROGRESS="1")
    env.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.invalid", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@example.invalid")
    return env


def _timed_runs(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    times = []
    for index in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-400:]!r}")
        if index:  # the first run warms the page cache, as hyperfine's --warmup 1
            times.append(elapsed)
    return {"median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4)}


def _slowest_imports(argv: list[str], cwd: Path, env: dict[str, str], top: int = 3) -> tuple[float, list[str]]:
    """Total import seconds of a command and its slowest top-level imports (`-X importtime`)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    top_level = []
    for line in done.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match and not match.group(2):
            top_level.append((int(match.group(1)) / 1e6, match.group(3)))
    top_level.sort(reverse=True)
    return round(sum(seconds for seconds, _ in top_level), 4), [f"{name} {s * 1000:.0f} ms" for s, name in
                                                                  top_level[:top]]


def _workspace(root: Path, env: dict[str, str]) -> None:
    from tests.hooks_support import make_workspace, write_group

    write_group(make_workspace(root))
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _demo_cold(tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    cold = dict(env, NUMBA_CACHE_DIR=str(tmp / "numba-cache"), DRUMGATE_NO_PROGRESS="")
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "drumgate"), "demo", "--out", str(tmp / "demo")], env=cold, cwd=tmp,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    return {"command": "drumgate demo (cold numba caches)", "median_s": round(wall, 2), "min_s": round(wall, 2),
            "target_s": DEMO_TARGET_S, "met": done.returncode == 0 and wall < DEMO_TARGET_S,
            "exit": done.returncode}


def run(quick: bool) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.test_cold_start import HOOK_INPUTS  # the trivial commit the unit test checks too

    runs = QUICK_RUNS if quick else RUNS
    drumgate = str(BIN / "drumgate")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = _env(tmp)
        root = tmp / "repo"
        _workspace(root, env)
        commands = {"python -c pass (floor)": ([sys.executable, "-c", "pass"], None),
                    "drumgate --help": ([drumgate, "--help"], ["-m", "drumgate.cli", "--help"])}
        for hook, files in HOOK_INPUTS.items():
            commands[f"drumgate hook {hook}"] = ([drumgate, "hook", hook, *files],
                                                 ["-m", "drumgate.cli", "hook", hook, *files])
        commands["peer: the heavy imports a hook skips"] = (
            [sys.executable, "-c", "import numpy, scipy.signal, jsonschema, deepdiff, jinja2, tqdm"], None)
        for name, (argv, importtime_argv) in commands.items():
            row: dict[str, Any] = {"command": name, **_timed_runs(argv, root, env, runs)}
            if importtime_argv:
                row["imports_s"], slowest = _slowest_imports(importtime_argv, root, env)
                row["slowest_imports"] = ", ".join(slowest)
                row["target_s"] = TARGET_S
                row["met"] = row["median_s"] < TARGET_S
            rows.append(row)
        if not quick:
            rows.append(_demo_cold(tmp, env))
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    started_rows = [row for row in rows if row.get("target_s") == TARGET_S]
    return {
        "rows": rows,
        "runs_per_command": runs,
        "all_starts_under_target": all(row["met"] for row in started_rows),
        "load_average": load,
        "notes": [
            f"fresh process per run, one warm-up then {runs} runs; median and fastest of the runs",
            "hooks run on a staged 5-row egmd artifact group (tests/hooks_support.write_group) in a git repository",
            "imports_s is the sum of top-level import times from python -X importtime (one run)",
        ],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

"""`python -m benchmarks [NAME...] [--quick]`: run the benchmark modules and print one table.

Each `benchmarks/bench_<name>.py` exposes `run(quick: bool) -> dict`, generates its own seeded
inputs, times drumgate and its peer side by side in the same run and returns the figures. This
entry point runs them, prints every result and writes `reports/benchmarks/<name>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks._common import compile_drumgate, run_benchmark

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "reports" / "benchmarks"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def print_result(name: str, result: dict[str, Any]) -> None:
    """The rows as a table, then every other figure, then the notes."""
    rows = result.get("rows")
    print(f"\n## {name}")
    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        columns = list(dict.fromkeys(key for row in rows for key in row))
        widths = {c: max(len(c), *(len(_format(r.get(c, ""))) for r in rows)) for c in columns}
        print("  ".join(c.ljust(widths[c]) for c in columns))
        for row in rows:
            print("  ".join(_format(row.get(c, "")).ljust(widths[c]) for c in columns))
    for key, value in result.items():
        if key in ("rows", "machine") or (key == "notes" and isinstance(value, list)):
            continue
        shown = json.dumps(value, default=str) if isinstance(value, (dict, list)) else _format(value)
        print(f"{key}: {shown}")
    notes = result.get("notes")
    for note in notes if isinstance(notes, list) else []:
        print(f"note: {note}")


def _must_show(results: dict[str, dict[str, Any]]) -> list[str]:
    """Issue 18's side-by-side lines, from the benchmarks of this run that measure them."""
    lines = []
    if "midi" in results:
        midi = results["midi"]
        lines.append(f"MIDI parse + events vs symusic's parse alone: {_format(midi.get('ratio_table_vs_symusic'))}x "
                     f"(met: {_format(bool(midi.get('meets_symusic_target')))})")
    if "health" in results and "duckdb" in results["health"].get("versus", {}):
        versus = results["health"]["versus"]["duckdb"]
        lines.append(f"drumgate health vs the DuckDB query on the same file: {versus['drumgate_speedup_wall']:.2f}x "
                     f"wall run again (met: {_format(versus['drumgate_speedup_wall'] >= 1)}); first run "
                     f"{results['health']['first_run_vs_duckdb_wall']:.2f}x (met: "
                     f"{_format(results['health']['first_run_vs_duckdb_wall'] >= 1)})")
    if "schema" in results and results["schema"].get("ratio_vs_fastjsonschema") is not None:
        schema = results["schema"]
        lines.append(f"schema hook validation vs fastjsonschema per row: {schema['ratio_vs_fastjsonschema']:.2f}x "
                     f"rows/s (met: {_format(bool(schema['meets_fastjsonschema_target']))})")
    if "cold_start" in results:
        for row in results["cold_start"].get("rows", []):
            if row.get("command") == "drumgate --help":
                lines.append(f"drumgate --help: {row['median_s']} s median (target < 0.3 s; "
                             f"met: {_format(bool(row.get('met')))})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(available())})")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run (CI checks it runs)")
    parser.add_argument("--no-write", action="store_true", help="do not write reports/benchmarks/*.json")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"benchmarks: unknown benchmark(s) {', '.join(unknown)} (known: {', '.join(available())})",
              file=sys.stderr)
        return 2
    failures = 0
    results: dict[str, dict[str, Any]] = {}
    info = machine()
    print(f"machine: {info}  quick={args.quick}")
    if not compile_drumgate():
        print("benchmarks: drumgate's bytecode could not all be written; its children compile it from source",
              file=sys.stderr)
    for name in names:
        started = time.perf_counter()
        try:
            result = run_benchmark(name, args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            print(f"benchmarks: {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failures += 1
            continue
        result = {**result, "machine": info, "quick": args.quick, "wall_s": round(time.perf_counter() - started, 2)}
        print_result(name, result)
        results[name] = result
        if not args.no_write:
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    must_show = _must_show(results)
    if must_show:
        print(f"\n## against the strongest peers (issue 18), load average {_format(os.getloadavg()[0])}")
        for line in must_show:
            print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

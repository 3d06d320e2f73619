"""Cold hashing of a generated multi-file tree vs coreutils `sha256sum` and 2-thread hashlib; warm re-verify vs cold.

The peers a user would pick today (issue 18): `sha256sum` over every file (one process, one
core) and `hashlib.sha256` over the files in a 2-thread pool (1 MiB reads; hashlib releases the
GIL on large buffers, so the two threads use both cores). The load average is recorded with the
figures: other jobs share the machine.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks._common import median_seconds
from drumgate.checksums import StatCache, hash_files


def _make_tree(root: Path, files: int, size: int, seed: int) -> dict[str, Path]:
    import numpy as np

    rng = np.random.default_rng(seed)
    tree = {}
    for index in range(files):
        path = root / f"session{index % 8:02d}" / f"{index:03d}_Stem.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        tree[f"primary/{path.relative_to(root).as_posix()}"] = path
    return tree


def _hashlib_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hashlib_two_threads(paths: list[str]) -> list[str]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(_hashlib_digest, paths))


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run(quick: bool) -> dict:
    files, size, repeats = (16, 4 << 20, 3) if quick else (48, 16 << 20, 5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        tree = _make_tree(root, files, size, seed=7)
        paths = [str(p) for p in tree.values()]
        load_before = _load()
        threaded = median_seconds(lambda: hashlib_two_threads(paths), repeats)
        peer = median_seconds(lambda: subprocess.run(["sha256sum", *paths], check=True, capture_output=True), repeats)
        cold = median_seconds(lambda: hash_files(tree, None, jobs=os.cpu_count()), repeats)
        cache = StatCache(Path(tmp) / "cache.sqlite")
        hash_files(tree, cache)
        warm = median_seconds(lambda: hash_files(tree, cache), repeats)
        cache.close()
    gigabytes = files * size / 1e9
    figures = {
        "files": files, "bytes": files * size, "cores": os.cpu_count(),
        "sha256sum_s": peer, "drumgate_cold_s": cold, "drumgate_warm_s": warm,
        "cold_speedup_vs_sha256sum": peer / cold, "warm_speedup_vs_cold": cold / warm,
        "sha256sum_s_per_gb": peer / gigabytes, "drumgate_cold_s_per_gb": cold / gigabytes,
        "hashlib_2_threads_s": threaded, "cold_speedup_vs_hashlib_2_threads": threaded / cold,
        "hashlib_2_threads_speedup_vs_drumgate_cold": cold / threaded,
        "sha256sum_speedup_vs_drumgate_cold": cold / peer,
        "load_average": {"before": load_before, "after": _load()},
    }
    print(f"{'measure':<28}{'seconds':>10}")
    print(f"{'coreutils sha256sum':<28}{peer:>10.3f}")
    print(f"{'drumgate cold (threads)':<28}{cold:>10.3f}   {figures['cold_speedup_vs_sha256sum']:.2f}x vs sha256sum "
          f"({figures['sha256sum_speedup_vs_drumgate_cold']:.2f}x the other way)")
    print(
        f"{'hashlib, 2 threads':<28}{threaded:>10.3f}   {figures['cold_speedup_vs_hashlib_2_threads']:.2f}x "
        f"drumgate cold vs this ({figures['hashlib_2_threads_speedup_vs_drumgate_cold']:.2f}x the other way)"
    )
    print(f"{'drumgate warm (stat cache)':<28}{warm:>10.4f}   {figures['warm_speedup_vs_cold']:.0f}x vs cold")
    print(f"load average: {figures['load_average']['before']} before, {figures['load_average']['after']} after")
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

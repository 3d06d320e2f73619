"""Cold hashing of a generated multi-file tree vs coreutils `sha256sum`; warm re-verify vs cold."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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




def run(quick: bool) -> dict:
    files, size, repeats = (16, 4 << 20, 3) if quick else (48, 16 << 20, 5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        tree = _make_tree(root, files, size, seed=7)
        paths = [str(p) for p in tree.values()]
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
    }
    print(f"{'measure':<28}{'seconds':>10}")
    print(f"{'coreutils sha256sum':<28}{peer:>10.3f}")
    print(f"{'drumgate cold (threads)':<28}{cold:>10.3f}   {figures['cold_speedup_vs_sha256sum']:.2f}x vs sha256sum")
    print(f"{'drumgate warm (stat cache)':<28}{warm:>10.4f}   {figures['warm_speedup_vs_cold']:.0f}x vs cold")
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

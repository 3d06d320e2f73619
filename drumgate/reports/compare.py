"""Two datasets' class, family and technique shares side by side, flagged where one side barely covers one.

`write_compare` is `drumgate compare` without its command line (`drumgate.cli.compare` is the
adapter). A family is the taxonomy root of a class (cymbal, percussion, tom, ...); every count is
shown as a share of all events of its side, and flagged when one side covers it well (share >=
`min_share`) while the other barely does (share below it).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate import lineage
from drumgate.artifacts import DIFFS_DIR
from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_text
from drumgate.io.jsonio import write_json
from drumgate.render.markdown import render_template
from drumgate.reports.report_io import CONFIG_INPUTS, artifact_group, inside, read_report, refuse_scratch_run
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import COMBINED, Workspace

DEFAULT_MIN_SHARE = 0.01
SHARE_DIGITS = 6


@dataclass(frozen=True)
class CompareOutcome:
    result: dict[str, Any]
    json_output: Path
    markdown_output: Path


def load_health(path: Path) -> dict[str, Any]:
    return read_report(path, ("health",))


def family_counts(classes: Mapping[str, int], taxonomy: Taxonomy) -> dict[str, int]:
    families: dict[str, int] = {}
    for name, count in classes.items():
        family = taxonomy.ancestors(name)[-1] if name in taxonomy.classes else name
        families[family] = families.get(family, 0) + int(count)
    return families


def _share(count: int, total: int) -> float:
    return round(count / total, SHARE_DIGITS) if total else 0.0


def side_by_side(a: Mapping[str, int], b: Mapping[str, int], a_total: int, b_total: int, min_share: float) -> list:
    rows = []
    for name in sorted(set(a) | set(b)):
        a_share, b_share = _share(int(a.get(name, 0)), a_total), _share(int(b.get(name, 0)), b_total)
        low, high = sorted((a_share, b_share))
        flag = None
        if low < min_share <= high:
            flag = "a_sparse" if a_share < b_share else "b_sparse"
        rows.append(
            {
                "name": name,
                "a": int(a.get(name, 0)),
                "b": int(b.get(name, 0)),
                "a_share": a_share,
                "b_share": b_share,
                "share_diff_pp": round((b_share - a_share) * 100, 4),
                "flag": flag,
            }
        )
    rows.sort(key=lambda r: (r["flag"] is None, -abs(r["share_diff_pp"]), r["name"]))
    return rows


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any], taxonomy: Taxonomy, min_share: float) -> dict:
    if not 0.0 < min_share < 1.0:
        # 5 for 5%: the share meant; anything else gets the default
        meant = min_share / 100 if 1.0 <= min_share < 100.0 else DEFAULT_MIN_SHARE
        raise DrumgateError(f"--min-share {min_share:g} is not a share between 0 and 1",
                            hint=f"fix: pass --min-share {meant:g}")
    a_total, b_total = int(a["totals"]["events"]), int(b["totals"]["events"])
    a_classes, b_classes = a.get("classes") or {}, b.get("classes") or {}
    result = {
        "schema_version": 1,
        "kind": "compare",
        "a": {"dataset": a.get("dataset"), "events": a_total},
        "b": {"dataset": b.get("dataset"), "events": b_total},
        "min_share": min_share,
        "families": side_by_side(
            family_counts(a_classes, taxonomy), family_counts(b_classes, taxonomy), a_total, b_total, min_share
        ),
        "classes": side_by_side(a_classes, b_classes, a_total, b_total, min_share),
        "techniques": side_by_side(a.get("techniques") or {}, b.get("techniques") or {}, a_total, b_total, min_share),
    }
    result["flagged"] = [
        {"table": table, "name": row["name"], "flag": row["flag"]}
        for table in ("families", "classes", "techniques")
        for row in result[table]
        if row["flag"]
    ]
    return result


def write_compare(
    ws: Workspace,
    reports: Sequence[Path],
    *,
    min_share: float = DEFAULT_MIN_SHARE,
    json_output: Path | None = None,
    markdown_output: Path | None = None,
    command: Sequence[str] = (),
) -> CompareOutcome:
    """Compare two health reports (paths as typed), write JSON and Markdown, and lock them when inside (a
    report outside the workspace may not be written inside: refused with the typed `command` writing beside it)."""
    paths = [ws.user_path(p) for p in reports]
    a, b = (load_health(p) for p in paths)
    if a.get("dataset") is not None and a.get("dataset") == b.get("dataset"):  # two dates of one: diff's job
        typed = " ".join(shlex.quote(str(p)) for p in reports)
        raise DrumgateError(f"both reports are of {a.get('dataset')}: compare sets two datasets side by side",
                            path=reports[1], hint=f"fix: drumgate diff {typed} to see what changed between them")
    result = compare_reports(a, b, load_taxonomy(ws), min_share)
    result["inputs"] = {"a": ws.rel(paths[0]), "b": ws.rel(paths[1])}
    stem = f"compare_{a.get('dataset')}_vs_{b.get('dataset')}"
    json_out = ws.user_path(json_output) if json_output else ws.root / DIFFS_DIR / f"{stem}.json"
    md_out = ws.user_path(markdown_output) if markdown_output else ws.root / DIFFS_DIR / f"{stem}.md"
    refuse_scratch_run(ws, command, paths, {"--json-output": (json_output, json_out),
                                            "--markdown-output": (markdown_output, md_out)}, "compare")
    write_json(json_out, result)
    atomic_write_text(md_out, render_template("compare.md.j2", c=result))
    argv = ["compare", ws.rel(paths[0]), ws.rel(paths[1]), "--json-output", ws.rel(json_out),
            "--markdown-output", ws.rel(md_out)]
    argv += ["--min-share", repr(min_share)]
    if all(inside(ws, p) for p in [*paths, json_out, md_out]):
        inputs = [*paths, *(ws.path(name) for name in CONFIG_INPUTS if ws.path(name).is_file())]
        for out in (json_out, md_out):
            lineage.record(ws, artifact_group(ws, COMBINED), out, argv, inputs=inputs)
    return CompareOutcome(result, json_out, md_out)

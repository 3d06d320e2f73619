"""`drumgate diff BASE.json HEAD.json`: what changed between two health (or weights) reports.

Writes the diff as JSON (summary + full deepdiff) and as Markdown for a reviewer, by default to
`reports/diffs/<ds>_<base>_to_<head>.{json,md}`. `--baseline auto HEAD.json` diffs against the
newest earlier dated report of the same dataset. Exit 0 when written (1 with
`--fail-on-regression` when a gate flipped from pass to fail), 2 for unreadable or incompatible
reports.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate import cli
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError
from drumgate.io.fsutil import atomic_write_text
from drumgate.io.jsonio import write_json
from drumgate.reports.diffing import check_diffable, diff_reports, render_diff_markdown
from drumgate.reports.report_io import inside, read_report, record_lineage
from drumgate.workspace import COMBINED, Workspace

DATED_STEM = re.compile(r"^(?P<prefix>.+)_(?P<date>\d{8})$")


@dataclass(frozen=True)
class ReportFile:
    path: Path
    report: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.report.get("kind"))

    @property
    def dataset(self) -> str:
        return str(self.report.get("dataset"))

    @property
    def date(self) -> str | None:
        match = DATED_STEM.match(self.path.name.removesuffix(".json"))
        return match.group("date") if match else None

    @property
    def label(self) -> str:
        """The date, or the file stem; no `_`, so `<ds>_<base>_to_<head>` still parses."""
        text = self.date or self.path.name.removesuffix(".json")
        text = re.sub(r"[^0-9A-Za-z.-]+", "-", text)
        return f"weights-{text}" if self.kind == "weights" else text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="BASE.json HEAD.json, or HEAD.json")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="auto|FILE",
        help="`auto`: the newest earlier dated report of HEAD's dataset; or a base report file",
    )
    parser.add_argument(
        "--markdown-output", type=Path, default=None, help="Markdown file (default reports/diffs/...md)"
    )
    parser.add_argument("--json-output", type=Path, default=None, help="JSON file (default reports/diffs/...json)")
    cli.add_json_option(parser, "the diff document")
    parser.add_argument("--title", default=None, help="Markdown heading (default: '<ds> <kind>: <base> → <head>')")
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when a gate flipped from pass to fail"
    )


def load_report(path: Path) -> ReportFile:
    return ReportFile(path, read_report(path))


def report_folder(ws: Workspace, kind: str) -> Path:
    return ws.root / "reports" / ("sampling" if kind == "weights" else "health")


def dated_prefix(dataset: str, kind: str) -> str:
    if kind == "weights":
        return f"{dataset}_weights"
    return f"{COMBINED}_health" if dataset == COMBINED else dataset


def auto_baseline(ws: Workspace, head: ReportFile) -> Path:
    """The newest `<prefix>_<YYYYMMDD>.json` dated before HEAD, of HEAD's dataset and kind."""
    if head.date is None:
        raise DrumgateError(
            "--baseline auto needs a dated HEAD report (<ds>_<YYYYMMDD>.json)", path=head.path, hint="name a base file"
        )
    prefix = dated_prefix(head.dataset, head.kind)
    candidates = []
    for path in report_folder(ws, head.kind).glob(f"{prefix}_*.json"):
        match = DATED_STEM.match(path.name.removesuffix(".json"))
        if match and match.group("prefix") == prefix and match.group("date") < head.date:
            candidates.append((match.group("date"), path))
    if not candidates:
        raise DrumgateError(
            f"no {head.kind} report of {head.dataset} dated before {head.date}",
            path=report_folder(ws, head.kind),
            hint="name the base report explicitly",
        )
    return max(candidates)[1]


def resolve_pair(ws: Workspace, args: argparse.Namespace) -> tuple[ReportFile, ReportFile]:
    paths = [ws.user_path(p) for p in args.reports]
    if args.baseline is None:
        if len(paths) != 2:
            raise DrumgateError("give BASE.json and HEAD.json, or --baseline auto HEAD.json")
        return load_report(paths[0]), load_report(paths[1])
    if len(paths) != 1:
        raise DrumgateError("with --baseline give only HEAD.json")
    head = load_report(paths[0])
    base_path = auto_baseline(ws, head) if args.baseline == "auto" else ws.user_path(args.baseline)
    return load_report(base_path), head


def output_stem(base: ReportFile, head: ReportFile) -> str:
    return f"{head.dataset}_{base.label}_to_{head.label}"


def regressions(diff: dict[str, Any]) -> list[str]:
    flipped = diff["summary"].get("gates", {}).get("flipped", [])
    return [
        f"{gate['name']}: now fails (observed {gate['head_observed']} vs threshold {gate['threshold']}, "
        f"was {gate['base_observed']})"
        for gate in flipped
        if gate["head_status"] == "fail"
    ]


def _record(ws: Workspace, dataset: str, outputs: Sequence[Path], argv: list[str], inputs: list[Path]) -> None:
    if not all(inside(ws, path) for path in outputs):
        return
    for path in outputs:
        record_lineage(ws, dataset, path, argv, inputs)


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    base, head = resolve_pair(ws, args)
    try:
        check_diffable(base.report, head.report)
    except DrumgateError as err:
        err.path = err.path or head.path
        raise
    diff = diff_reports(base.report, head.report)
    diff["inputs"] = {"base": ws.rel(base.path), "head": ws.rel(head.path)}
    stem = output_stem(base, head)
    json_out = ws.user_path(args.json_output) if args.json_output else ws.root / "reports" / "diffs" / f"{stem}.json"
    md_out = (ws.user_path(args.markdown_output) if args.markdown_output
              else ws.root / "reports" / "diffs" / f"{stem}.md")
    title = args.title or f"{head.dataset} {head.kind}: {base.date or base.label} → {head.date or head.label}"
    write_json(json_out, diff)
    atomic_write_text(md_out, render_diff_markdown(diff, title))
    argv = ["diff", ws.rel(base.path), ws.rel(head.path), "--json-output", ws.rel(json_out),
            "--markdown-output", ws.rel(md_out)]
    if args.title:
        argv += ["--title", args.title]
    _record(ws, head.dataset, [json_out, md_out], argv, [base.path, head.path])
    print(f"{title}: {diff['changes']} change(s); wrote {ws.rel(json_out)} and {ws.rel(md_out)}")
    failures = regressions(diff)
    for line in failures:
        print(line, file=sys.stderr)
    cli.emit_json(args, {**diff, "outputs": [ws.rel(json_out), ws.rel(md_out)], "regressions": failures})
    return EXIT_FINDINGS if failures and args.fail_on_regression else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m checks.diff")


if __name__ == "__main__":
    raise SystemExit(main())

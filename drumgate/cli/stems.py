"""`drumgate stems [--explain] [--json] [NAME_OR_FILE...]`: which stem-name rule maps each name.

Names come from the arguments: an argument that names an existing file is read as a list (one
name per line, blank lines skipped), any other argument is a name (one holding a `/` or naming a
folder is a mistyped list and refused), and `-` (or no argument at all)
reads the list from stdin. The rules are the workspace's `configs/stem_names.json`.

Without `--explain` the command prints the coverage summary: names per kit family (kick, snare,
hihat, tom, cymbal, overhead, room, percussion, effect), deliberately excluded, non-drum and
unmatched, then the unmatched names that look drum-related (a kit word in the name), which need a
rule. `--explain` first prints every name with the rule that matched it (family, instrument/role,
rule position and id, the pattern as written, an exclusion's reason) or `unmatched`. `--json`
prints the same as one JSON document. Exit 0; 2 for an unreadable list.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from drumgate import cli
from drumgate.errors import EXIT_OK
from drumgate.taxonomy import load_taxonomy
from ingest.cambridge.stem_coverage import explain_line, explain_names, read_names, summary_lines
from ingest.cambridge.stems import load_stem_rules


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources", nargs="*", metavar="NAME_OR_FILE",
        help="stem file names, files listing one name a line, or - for stdin (default: stdin)",
    )
    parser.add_argument("--explain", action="store_true", help="print every name with the rule that matched it")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    rules = load_stem_rules(ws, set(load_taxonomy(ws).classes))
    coverage = explain_names(rules, read_names(args.sources))
    if args.json:
        document: dict[str, Any] = {"summary": coverage.summary()}
        if args.explain:
            document["names"] = [item.as_dict() for item in coverage.explained]
        print(json.dumps(document, indent=1, ensure_ascii=True))
        return EXIT_OK
    if args.explain:
        for item in coverage.explained:
            print(explain_line(item))
        print()
    print("\n".join(summary_lines(coverage)))
    return EXIT_OK

"""The `drumgate` console script: lazy subcommand dispatch and the one top-level error handler.

Subcommand modules are imported only when called, so a pre-commit hook pays only for what it
uses. Each module provides `add_arguments(parser)` and `run(args) -> int`; its own
`main(argv)` (for `python -m`) calls `run_module` below.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType

from drumgate import __version__
from drumgate.errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, DrumgateError, one_line

OWN_PACKAGES = frozenset({"drumgate", "ingest", "checks"})

# name -> (module, one-line help). Groups map to a dict of the same shape.
Command = tuple[str, str]
COMMANDS: dict[str, Command | dict[str, Command]] = {
    "demo": ("drumgate.demo", "generate the demo corpus and run every pipeline stage on it"),
    "ingest": {
        "egmd": ("ingest.egmd", "E-GMD / GMD MIDI to events and provenance"),
        "cambridge": ("ingest.cambridge", "Cambridge multitrack session inventory"),
        "musdb": ("ingest.musdb", "MUSDB18-HQ inventory and drum-stem events"),
    },
    "events": {
        "cambridge": ("ingest.cambridge_events", "Cambridge close-mic stems to onset events"),
    },
    "merge": ("ingest.merge", "join shard outputs into the file one run would write"),
    "stems": ("ingest.stems_cli", "which stem-name rule maps each name, and the drum-looking names no rule maps"),
    "checksums": ("drumgate.checksums", "generate or verify SHA-256 checksum manifests"),
    "health": ("checks.health", "health report with readiness gates (JSON + HTML)"),
    "diff": ("checks.diff", "diff two health or weights reports"),
    "compare": ("checks.compare", "compare two datasets' class and technique shares"),
    "weights": ("checks.weights", "per-session sampling weights"),
    "crash-map": ("ingest.crash_map", "apply the crash dual-label map to event manifests"),
    "combine": ("ingest.combine", "build the combined production manifest, health and weights"),
    "docs": ("checks.docs", "regenerate the dated health summary and the readiness plan block"),
    "pr-report": ("drumgate.pr_report", "health deltas between two revisions, as a PR comment"),
    "comment": ("drumgate.github_comment", "create or update the sticky PR comment"),
    "init": ("drumgate.init_repo", "scaffold a data repository: configs, licence notes, hooks, workflows"),
    "repro": ("drumgate.repro", "re-run, in dependency order, every command whose artifact is stale or missing"),
    "init-hooks": ("drumgate.init_hooks", "install drumgate's pre-commit hooks in a data repository"),
    "hook": {
        "schema": ("checks.check_schema", "artifacts match configs/schemas"),
        "taxonomy": ("checks.check_taxonomy", "labels and techniques exist in the taxonomy"),
        "checksums": ("checks.check_checksums", "checksum manifests are sound and agree with provenance"),
        "freshness": ("checks.check_freshness", "artifact groups staged together and not stale"),
        "licences": ("checks.check_licences", "every dataset with artifacts has a complete licence note"),
    },
}


def _usage() -> str:
    lines = [f"usage: drumgate COMMAND [options]   (drumgate {__version__})", "", "commands:"]
    for name, spec in COMMANDS.items():
        if isinstance(spec, dict):
            for sub, (_, text) in spec.items():
                lines.append(f"  {name} {sub:<18} {text}")
        else:
            lines.append(f"  {name:<25} {spec[1]}")
    lines.append("")
    lines.append("`drumgate COMMAND --help` for a command's options. Exit codes: 0 clean, 1 findings or")
    lines.append("failed gate, 2 usage or unreadable input, 3 internal error.")
    return "\n".join(lines)


def guarded(action: Callable[[], int]) -> int:
    """The one top-level handler: DrumgateError is one line on stderr, nothing is a traceback."""
    try:
        return action()
    except DrumgateError as err:
        print(str(err), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("drumgate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] in OWN_PACKAGES:
            return _internal_error(exc)
        print(missing_dependency(exc.name), file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the last line of defence
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    if os.environ.get("DRUMGATE_DEBUG"):
        traceback.print_exc()
    print(
        f"drumgate: internal error: {type(exc).__name__}: {one_line(str(exc))} "
        "(a bug: rerun with DRUMGATE_DEBUG=1 for the traceback and report it)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_dependency(module: str) -> str:
    """One line naming the extra that provides `module`, from drumgate's own package metadata."""
    from importlib import metadata

    top = _normalised(module.split(".")[0])
    extras: list[str] = []
    try:
        requirements = metadata.requires("drumgate") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        name = _normalised(re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0])
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
        if name == top and extra:
            extras.append(extra.group(1))
    if extras:
        fix = f"pip install 'drumgate[{extras[0]}]'"
    else:
        fix = f"pip install {module.split('.')[0]}, or reinstall drumgate"
    return one_line(f"drumgate: this command needs the Python package {module.split('.')[0]!r}, "
                    f"which is not installed (fix: {fix})")


def build_parser(module: ModuleType, prog: str, description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description or module.__doc__)
    parser.add_argument(
        "--workspace",
        default=None,
        help="workspace folder holding configs/ (default: DRUMGATE_WORKSPACE or the nearest above)",
    )
    module.add_arguments(parser)
    return parser


def run_module(module: ModuleType, argv: Sequence[str] | None, prog: str) -> int:
    """Parse `argv` with the module's parser and run it under the top-level handler."""
    parser = build_parser(module, prog)
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return guarded(lambda: _run_holding_group_locks(module, args, prog, argv))


def _run_holding_group_locks(
    module: ModuleType, args: argparse.Namespace, prog: str, argv: Sequence[str] | None
) -> int:
    """Run a command; the artifact-group locks it takes are held until it returns (drumgate.grouplock)."""
    from drumgate import grouplock

    words = list(sys.argv[1:] if argv is None else argv)
    with grouplock.command_scope(" ".join([prog, *words])):
        return int(module.run(args))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return EXIT_OK if args else EXIT_USAGE
    if args[0] == "--version":
        print(f"drumgate {__version__}")
        return EXIT_OK
    name, rest = args[0], args[1:]
    spec = COMMANDS.get(name)
    prog = f"drumgate {name}"
    if isinstance(spec, dict):
        if not rest or rest[0] not in spec:
            choices = ", ".join(spec)
            print(f"drumgate {name}: choose one of: {choices}", file=sys.stderr)
            return EXIT_USAGE
        spec, prog, rest = spec[rest[0]], f"{prog} {rest[0]}", rest[1:]
    if spec is None:
        print(f"drumgate: unknown command {name!r} (see `drumgate --help`)", file=sys.stderr)
        return EXIT_USAGE
    module_name = spec[0]
    module = guarded_import(module_name)
    if isinstance(module, int):
        return module
    return run_module(module, rest, prog)


def guarded_import(module_name: str) -> ModuleType | int:
    """The subcommand's module, or the exit code: 2 for a missing dependency, 3 for a broken install."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] not in OWN_PACKAGES:
            print(missing_dependency(exc.name), file=sys.stderr)
            return EXIT_USAGE
        print(f"drumgate: cannot load {module_name}: {one_line(str(exc))} (reinstall drumgate)", file=sys.stderr)
        return EXIT_INTERNAL
    except ImportError as exc:
        print(f"drumgate: cannot load {module_name}: {one_line(str(exc))} (reinstall drumgate)", file=sys.stderr)
        return EXIT_INTERNAL


def workspace_from(args: argparse.Namespace):  # noqa: ANN201 - avoids importing at module load
    from drumgate.workspace import find_workspace

    return find_workspace(getattr(args, "workspace", None))


if __name__ == "__main__":
    sys.exit(main())

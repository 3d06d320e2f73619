"""The `drumgate` console script: lazy subcommand dispatch and the one top-level error handler.

Subcommand modules are imported only when called, so a pre-commit hook pays only for what it
uses. A COMMANDS entry names the command's adapter: a module, or `module:attr` for an object in
one (the generic ingestor command of `drumgate.cli.ingest`); either provides `add_arguments(parser)`
and `run(args) -> int`, and its docstring is the `--help` text. `python -m` entry points call
`run_module` below.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import importlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, NoReturn, Protocol, TextIO

from drumgate import __version__
from drumgate.console import INTERRUPTED_LINE
from drumgate.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    DrumgateError,
    format_finding,
    one_line,
    shown_from_here,
)

OWN_PACKAGES = frozenset({"drumgate", "ingest", "checks"})

# name -> (module, one-line help). Groups map to a dict of the same shape.
Command = tuple[str, str]
COMMANDS: dict[str, Command | dict[str, Command]] = {
    "demo": ("drumgate.cli.demo", "generate the demo corpus and run every pipeline stage on it"),
    "ingest": {
        "egmd": ("drumgate.cli.ingest:egmd", "E-GMD / GMD MIDI to events and provenance"),
        "cambridge": ("drumgate.cli.ingest:cambridge", "Cambridge multitrack session inventory"),
        "musdb": ("drumgate.cli.ingest:musdb", "MUSDB18-HQ inventory and drum-stem events"),
        "mdb_drums": ("drumgate.cli.ingest:mdb_drums", "MDB Drums drum-only mixes and their human annotations"),
    },
    "events": {
        "cambridge": ("drumgate.cli.cambridge_events", "Cambridge close-mic stems to onset events"),
    },
    "merge": ("drumgate.cli.merge", "join shard outputs into the file one run would write"),
    "stems": ("drumgate.cli.stems", "which stem-name rule maps each name; drum-looking names no rule maps"),
    "checksums": ("drumgate.cli.checksums", "generate or verify SHA-256 checksum manifests"),
    "health": ("drumgate.cli.health", "health report with readiness gates (JSON + HTML)"),
    "diff": ("drumgate.cli.diff", "diff two health or weights reports"),
    "compare": ("drumgate.cli.compare", "compare two datasets' class and technique shares"),
    "weights": ("drumgate.cli.weights", "per-session sampling weights"),
    "crash-map": ("drumgate.cli.crash_map", "apply the crash dual-label map to event manifests"),
    "combine": ("drumgate.cli.combine", "build the combined production manifest, health and weights"),
    "docs": ("drumgate.cli.docs", "regenerate the dated health summary and the readiness plan block"),
    "pr-report": ("drumgate.cli.pr_report", "health deltas between two revisions, as a PR comment"),
    "comment": ("drumgate.cli.comment", "create or update the sticky PR comment"),
    "init": ("drumgate.cli.init", "scaffold a data repository: configs, licence notes, hooks, workflows"),
    "repro": ("drumgate.cli.repro", "re-run, in dependency order, every command whose artifact is stale"),
    "migrate": ("drumgate.cli.migrate", "turn single-file manifests from before parts into partitioned folders"),
    "init-hooks": ("drumgate.cli.init_hooks", "install drumgate's pre-commit hooks in a data repository"),
    "hook": {
        "schema": ("drumgate.cli.hooks.schema", "artifacts match configs/schemas"),
        "taxonomy": ("drumgate.cli.hooks.taxonomy", "labels and techniques exist in the taxonomy"),
        "checksums": ("drumgate.cli.hooks.checksums", "checksum manifests are sound and agree with provenance"),
        "freshness": ("drumgate.cli.hooks.freshness", "artifact groups staged together and not stale"),
        "licences": ("drumgate.cli.hooks.licences", "every dataset with artifacts has a complete licence note"),
    },
}

# Other spellings accepted for a subcommand of a group: the dataset ids of configs/datasets.toml
# (`musdb_hq`) work wherever the CLI's short name (`musdb`) does.
ALIASES: dict[str, dict[str, str]] = {"ingest": {"musdb_hq": "musdb", "musdb18hq": "musdb", "mdb": "mdb_drums",
                                                "mdbdrums": "mdb_drums", "mdb-drums": "mdb_drums"}}
# Dataset names typed on the command line, to the dataset ids of configs/datasets.toml.
DATASET_ALIASES: dict[str, str] = {"musdb": "musdb_hq", "musdb18hq": "musdb_hq", "e-gmd": "egmd", "mdb": "mdb_drums"}
# Options accepted before the subcommand (`drumgate --workspace DIR health ...`): name -> takes a value.
GLOBAL_OPTIONS: dict[str, bool] = {"--workspace": True}
WORKSPACE_HELP = "workspace folder holding configs/ (default: DRUMGATE_WORKSPACE or the nearest above)"


class CommandAdapter(Protocol):
    """What a `module:attr` COMMANDS entry names; a module with these two functions serves as well."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


Adapter = ModuleType | CommandAdapter


def dataset_id(name: str) -> str:
    """The configs/datasets.toml id of a dataset name typed by a user (`musdb` -> `musdb_hq`)."""
    return DATASET_ALIASES.get(name, name)


def _usage() -> str:
    lines = [f"usage: drumgate [--workspace DIR] COMMAND [options]   (drumgate {__version__})", "", "commands:"]
    for name, spec in COMMANDS.items():
        if isinstance(spec, dict):
            for sub, (_, text) in spec.items():
                lines.append(f"  {f'{name} {sub}':<25} {text}")
        else:
            lines.append(f"  {name:<25} {spec[1]}")
    lines.append("")
    lines.append("`drumgate COMMAND --help` for a command's options; `--json` prints a command's results as JSON")
    lines.append("on stdout. Exit codes: 0 clean, 1 findings or failed gate, 2 usage or unreadable input, 3 internal")
    lines.append("error.")
    return "\n".join(lines)


def _group_usage(name: str, group: dict[str, Command]) -> str:
    lines = [f"usage: drumgate {name} {{{','.join(group)}}} [options]", "", f"{name} commands:"]
    lines += [f"  {sub:<12} {text}" for sub, (_, text) in group.items()]
    aliases = ALIASES.get(name, {})
    if aliases:
        lines += ["", "also accepted: " + ", ".join(f"{alias} (= {sub})" for alias, sub in aliases.items())]
    lines += ["", f"`drumgate {name} COMMAND --help` for a command's options."]
    return "\n".join(lines)


# the machine, not drumgate: a full disk or quota, or a failing device, while writing output
OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})


def guarded(action: Callable[[], int]) -> int:
    """The one top-level handler: DrumgateError is one line on stderr, nothing is a traceback."""
    try:
        try:
            code = action()
        except SystemExit:  # argparse's --help and usage lines are output too
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # a full disk under `> file` shows here, not at exit as an ignored exception
        return code
    except DrumgateError as err:
        from drumgate.restore import with_way_back  # only on the way out with a finding

        print(str(shown_from_here(with_way_back(err))), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(INTERRUPTED_LINE, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] in OWN_PACKAGES:
            return _internal_error(exc)
        print(missing_dependency(exc.name), file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.errno not in OUT_OF_SPACE:
            return _internal_error(exc)
        if exc.filename is None:  # stdout: what it still buffers would fail again at exit (status 120)
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        full = exc.errno != errno.EIO
        hint = "fix: df -h shows which disk is full; free space there and run the command again" if full else None
        print(format_finding(exc.filename or "<stdout>", f"{'cannot write: ' if full else ''}{exc.strerror}",
                             hint=hint), file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the last line of defence
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    if os.environ.get("DRUMGATE_DEBUG"):
        traceback.print_exc()
    print(f"drumgate: internal error: {type(exc).__name__}: {one_line(str(exc))} "
          "(a bug: rerun with DRUMGATE_DEBUG=1 for the traceback and report it)", file=sys.stderr)
    return EXIT_INTERNAL


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_dependency(module: str) -> str:
    """One line naming the extra that provides `module`, from drumgate's own package metadata."""
    from importlib import metadata

    top = _normalised(module.split(".")[0])
    extras: list[str] = []
    core = False  # a runtime dependency: the install is broken, whatever extras also list it
    try:
        requirements = metadata.requires("drumgate") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        name = _normalised(re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0])
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
        if name == top and extra:
            extras.append(extra.group(1))
        core = core or (name == top and extra is None)
    if extras and not core:
        fix = f"pip install 'drumgate[{extras[0]}]'"
    else:
        fix = f"pip install {module.split('.')[0]}, or reinstall drumgate"
    return one_line(f"drumgate: this command needs the Python package {module.split('.')[0]!r}, "
                    f"which is not installed (fix: {fix})")


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line with its fix, as every other bad input is (argparse prints the whole
    usage block first); its subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (fix: {self.prog} --help)\n")


def build_parser(module: Adapter, prog: str, description: str | None = None) -> argparse.ArgumentParser:
    """The command's parser; its docstring (a dataset card, say) is shown with its layout kept."""
    parser = OneLineParser(
        prog=prog, description=description or module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", default=None, help=WORKSPACE_HELP)
    module.add_arguments(parser)
    return parser


# ---------------------------------------------------------------- --json: results on stdout
# A command that reports adds `--json` with add_json_option and hands its result to emit_json.
# While it runs with --json, everything it prints for a person goes to stderr, so stdout holds
# exactly one JSON document.

_json_stdout: list[TextIO] = []


def add_json_option(parser: argparse.ArgumentParser, what: str = "the results") -> None:
    parser.add_argument(
        "--json", action="store_true", help=f"print {what} as JSON on stdout (the text lines go to stderr)"
    )
    parser.set_defaults(json_via_cli=True)


def emit_json(args: argparse.Namespace, document: Any) -> None:
    """Print `document` as the command's JSON result when it runs with --json; otherwise nothing."""
    if not getattr(args, "json", False):
        return
    stream = _json_stdout[-1] if _json_stdout else sys.stdout
    stream.write(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    stream.flush()


def text_stdout_fd() -> int | None:
    """Where a child process's stdout goes: stderr while a command prints its --json result, else inherited."""
    return 2 if _json_stdout else None


@contextlib.contextmanager
def _text_to_stderr(args: argparse.Namespace) -> Iterator[None]:
    if not (getattr(args, "json_via_cli", False) and getattr(args, "json", False)):
        yield
        return
    _json_stdout.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _json_stdout.pop()


def _parse(module: Adapter, argv: Sequence[str] | None, prog: str) -> argparse.Namespace | int:
    """The parsed arguments, or argparse's exit code (0 after --help, 2 for a usage error)."""
    try:
        return build_parser(module, prog).parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)


def run_module(module: Adapter, argv: Sequence[str] | None, prog: str) -> int:
    """Parse `argv` with the module's parser and run it under the top-level handler."""
    args = _parse(module, argv, prog)
    if isinstance(args, int):
        return args
    return guarded(lambda: _run_holding_group_locks(module, args, prog, argv))


def _run_holding_group_locks(
    module: Adapter, args: argparse.Namespace, prog: str, argv: Sequence[str] | None
) -> int:
    """Run a command; the artifact-group locks it takes are held until it returns (drumgate.lineage.grouplock)."""
    from drumgate.lineage import grouplock

    words = list(sys.argv[1:] if argv is None else argv)
    with grouplock.command_scope(" ".join([prog, *words])), _text_to_stderr(args):
        return int(module.run(args))


def split_global_options(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(global options given before the subcommand, the rest): `--workspace DIR` or `--workspace=DIR`."""
    leading: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        flag = word.split("=", 1)[0]
        if flag not in GLOBAL_OPTIONS:
            break
        takes_value = GLOBAL_OPTIONS[flag] and "=" not in word
        if takes_value and index + 1 >= len(args):
            break
        leading += args[index : index + 1 + takes_value]
        index += 1 + takes_value
    return leading, list(args[index:])


def main(argv: Sequence[str] | None = None) -> int:
    """The console script (`argv` None: the command line) or a call with the words given."""
    code = guarded(lambda: _dispatch(argv))
    if argv is None:
        # Run as the program, which exits next: what the command left alive is not walked again by the
        # collections at interpreter exit (15 ms of a `drumgate health` run, 0.9 s in all; a hook's exit too)
        gc.freeze()
    return code


def _dispatch(argv: Sequence[str] | None) -> int:
    global_options, args = split_global_options(list(sys.argv[1:] if argv is None else argv))
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage(), file=sys.stdout if args else sys.stderr)
        return EXIT_OK if args else EXIT_USAGE
    if args[0] == "--version":
        print(f"drumgate {__version__}")
        return EXIT_OK
    name, rest = args[0], args[1:]
    spec = COMMANDS.get(name)
    prog = f"drumgate {name}"
    if isinstance(spec, dict):
        if rest and rest[0] in {"-h", "--help", "help"}:
            print(_group_usage(name, spec))
            return EXIT_OK
        sub = ALIASES.get(name, {}).get(rest[0], rest[0]) if rest else None
        if sub not in spec:
            fix = _retyped_fix([*global_options, name], rest[1:], rest[0] if rest else None, list(spec),
                               f"drumgate {name} --help")
            print(one_line(f"drumgate {name}: choose one of: {', '.join(spec)} ({fix})"), file=sys.stderr)
            return EXIT_USAGE
        spec, prog, rest = spec[sub], f"{prog} {sub}", rest[1:]
    if spec is None:
        fix = _retyped_fix(global_options, rest, name, list(COMMANDS), "drumgate --help")
        print(one_line(f"drumgate: unknown command {name!r} ({fix})"), file=sys.stderr)
        return EXIT_USAGE
    rest = [*global_options, *rest]
    module = guarded_import(spec[0])
    if isinstance(module, int):
        return module
    return run_module(module, rest, prog)


def _retyped_fix(before: list[str], after: list[str], typed: str | None, known: list[str], helper: str) -> str:
    """`fix: drumgate <the command meant> ...` with the rest as typed, when one known name is close to
    what was typed; else the --help that lists them."""
    import difflib
    import shlex

    close = difflib.get_close_matches(typed, known, n=1) if typed else []
    if not close:
        return f"fix: {helper}, which lists them"
    return f"fix: {shlex.join(['drumgate', *before, close[0], *after])}"


def load_command(target: str) -> Adapter:
    """The adapter a COMMANDS entry names: `module`, or `module:attr` for an object in that module."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


def guarded_import(module_name: str) -> Adapter | int:
    """The subcommand's adapter, or the exit code: 2 for a missing dependency, 3 for a broken install."""
    try:
        return load_command(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] not in OWN_PACKAGES:
            print(missing_dependency(exc.name), file=sys.stderr)
            return EXIT_USAGE
        print(f"drumgate: cannot load {module_name}: {one_line(str(exc))} (reinstall drumgate)", file=sys.stderr)
        return EXIT_INTERNAL
    except (ImportError, AttributeError) as exc:
        print(f"drumgate: cannot load {module_name}: {one_line(str(exc))} (reinstall drumgate)", file=sys.stderr)
        return EXIT_INTERNAL


def workspace_from(args: argparse.Namespace):  # noqa: ANN201 - avoids importing at module load
    from drumgate.workspace import find_workspace

    return find_workspace(getattr(args, "workspace", None))


if __name__ == "__main__":
    sys.exit(main())

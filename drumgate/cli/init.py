"""`drumgate init`: the command layer of `drumgate.commands.init_repo`, whose docstring is its --help."""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from drumgate import __version__
from drumgate.cli import DATASET_ALIASES
from drumgate.commands import init_repo
from drumgate.commands.init_hooks import pre_commit_install
from drumgate.errors import EXIT_OK, DrumgateError
from drumgate.workspace import packaged_datasets

__doc__ = init_repo.__doc__


INSTALL_DEFAULT = f"drumgate=={__version__}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=".", help="folder of the data repository (default: here)")
    parser.add_argument(
        "--datasets",
        default=None,
        help="comma-separated datasets the repository holds (default: those its configs/datasets.toml"
        f" names, else {','.join(packaged_datasets())}); a new one is added to an existing datasets.toml",
    )
    parser.add_argument(
        "--install-spec",
        default=None,
        help=f"what the GitHub workflows `pip install` (default: this version, {INSTALL_DEFAULT}); given again"
        " later, it replaces the spec in workflows that differ from drumgate's in it alone",
    )
    parser.add_argument("--no-hooks", action="store_true", help="do not run `pre-commit install`")


def _command(args: argparse.Namespace, datasets: str | None, spec: str | None = None) -> str:
    """The command line `args` came from (its folder as the positional one), with `--datasets datasets`
    (and `--install-spec spec` when given: the pin hint)."""
    words = ["drumgate", "init", *([args.dir] if args.dir != "." else [])]
    if spec is not None:
        return shlex.join([*words, "--install-spec", spec])
    words += ["--datasets", datasets] if datasets else []
    words += ["--install-spec", args.install_spec] if args.install_spec is not None else []
    return shlex.join(words + (["--no-hooks"] if args.no_hooks else []))


def run(args: argparse.Namespace) -> int:
    workspace = getattr(args, "workspace", None)  # every command's option: for init, the folder it makes
    if workspace is not None and args.dir != "." and Path(args.dir).resolve() != Path(workspace).resolve():
        raise DrumgateError(f"two folders given: {args.dir} and --workspace {workspace}",
                            hint=f"fix: {_command(args, args.datasets)}")
    if workspace is not None:
        args.dir = workspace
    root = Path(os.path.abspath(args.dir))
    configured = init_repo.configured_datasets(root)
    if args.datasets is None:
        # a repository's own datasets (those drumgate ships configs for), else all of them
        chosen = packaged_datasets() if configured is None else tuple(
            name for name in configured if name in packaged_datasets())
    else:
        chosen = init_repo.parse_datasets(args.datasets, lambda datasets: _command(args, datasets), DATASET_ALIASES)
    spec = args.install_spec or INSTALL_DEFAULT
    outcomes = init_repo.scaffold(root, chosen, spec, configured, respec=args.install_spec is not None)
    wrote = [o.path for o in outcomes if o.action == "wrote"]
    kept = [o.path for o in outcomes if o.action == "kept"]
    added = [o for o in outcomes if o.action.startswith("added ")]
    # the repository's datasets, its own ones too (drumgate ships no configs for those, so adds nothing for them)
    held = [*chosen, *(name for name in configured or () if name not in chosen)] if args.datasets is None else chosen
    print(f"drumgate init: {root} (datasets: {', '.join(held) or 'none'})")
    left = sum(1 for o in outcomes if o.action in ("kept", "unchanged"))
    files = f"{len(wrote)} file{'' if len(wrote) == 1 else 's'}"
    print(f"  wrote {files}" + (f"; {left} already there, left as they are" if left else ""))
    for path in kept:
        print(f"  kept your {path} (differs from drumgate's default)")
    for outcome in added:
        them = "them" if "," in outcome.action else "it"
        print(f"  {outcome.action} to your {outcome.path} (its combined mix left as it was: add {them} there to mix"
              f" {them} into the production manifest)")
    if args.install_spec is None and any(path.startswith(".github/workflows/") for path in wrote):
        # the default names a release on the package index: say so where it shows, not in the first failing run
        print(f"  the workflows `pip install {INSTALL_DEFAULT}`: where the runners get drumgate otherwise, pin it"
              f": {_command(args, None, spec='URL-of-the-wheel#sha256=DIGEST')}")
    if (root / ".git").exists() and not args.no_hooks:
        pre_commit_install(root)
        print("  installed the pre-commit hook: every `git commit` runs the drumgate checks")
    elif not args.no_hooks:
        print(f"  not a git repository yet: run `git init && drumgate init-hooks` in {root}")
    ingests = ", ".join(f"`drumgate ingest {name}`" for name in held if name in packaged_datasets())
    print(f"next: review data/licenses/*.md, put raw data {_raw_places(chosen, held)}"
          + (f", run {ingests}," if ingests else ","))
    print("then `drumgate repro` and `git add -A && git commit`")
    return EXIT_OK


def _raw_places(scaffolded: Sequence[str], held: Sequence[str]) -> str:
    """Where each dataset's raw files go: `data/raw/<ds>` for those init scaffolded, the configured roots
    for a repository's own datasets."""
    own = [name for name in held if name not in scaffolded]
    places = [f"under {', '.join(f'data/raw/{name}' for name in scaffolded)}"] if scaffolded else []
    if own:
        places.append(f"in the roots configs/datasets.toml names for {', '.join(own)}")
    return ", ".join(places) if places else "in the roots configs/datasets.toml names"

"""`drumgate init-hooks [--repo DIR]`: install drumgate's pre-commit hooks in a data repository.

Writes `.pre-commit-config.yaml` with the hooks as `repo: local` entries that call the installed
`drumgate` (`language: system`: nothing to clone or build), then runs `pre-commit install`.
An existing config is kept unless `--force`; the hooks are the same as `.pre-commit-hooks.yaml`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from drumgate import cli
from drumgate.errors import EXIT_OK, DrumgateError
from drumgate.io.fsutil import atomic_write_bytes

MANIFESTS = r"^data/(manifests|provenance)/.*\.jsonl(\.gz)?$"
REPORTS = r"^(reports/(health|sampling|diffs)/.*|data/locks/.*)\.json$"
# A partitioned manifest's index (its parts match MANIFESTS: `<folder>/[renders/]<part>.jsonl.gz`).
INDEXES = r"^data/(manifests|provenance)/[^/]+/index\.json$"
# The licence hook also runs when only a licence note changes.
LICENCE_INPUTS = r"^(data/(manifests|provenance|archives/checksums|locks|licenses)/|reports/(health|sampling|diffs)/)"

# (id, name, hook, files regex, extra lines)
HOOKS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "drumgate-schema",
        "drumgate: artifacts match configs/schemas",
        "schema",
        f"({MANIFESTS}|{REPORTS}|{INDEXES})",
        (),
    ),
    (
        "drumgate-taxonomy",
        "drumgate: labels and techniques exist in the taxonomy",
        "taxonomy",
        r"^(data/manifests/.*_events(\.jsonl(\.gz)?|/[^/]+\.jsonl\.gz)|configs/(technique_taxonomy|crash_dual_label)\.json)$",
        (),
    ),
    (
        "drumgate-checksums",
        "drumgate: checksum manifests sound and agree with provenance",
        "checksums",
        r"^data/(archives/checksums/.*\.sha256|provenance/.*\.jsonl(\.gz)?)$",
        (),
    ),
    (
        "drumgate-freshness",
        "drumgate: artifact groups staged together, nothing stale",
        "freshness",
        "",
        ("pass_filenames: false", "always_run: true"),
    ),
    # Serial: pre-commit's parallel batches would each report the same missing note.
    ("drumgate-licences", "drumgate: licence notes complete", "licences", LICENCE_INPUTS, ("require_serial: true",)),
    (
        "drumgate-checksums-full",
        "drumgate: verify whole trees against checksum manifests",
        "checksums --all",
        r"^data/archives/checksums/.*\.sha256$",
        ("stages: [manual]",),
    ),
)


def local_config() -> str:
    """The `.pre-commit-config.yaml` a data repository gets: drumgate hooks as `repo: local`."""
    lines = ["# Written by `drumgate init-hooks`; the drumgate hooks run the installed drumgate.", "repos:"]
    lines += ["  - repo: local", "    hooks:"]
    for hook_id, name, hook, files, extra in HOOKS:
        lines += [f"      - id: {hook_id}", f"        name: '{name}'", f"        entry: drumgate hook {hook}"]
        lines.append("        language: system")
        if files:
            lines.append(f"        files: '{files}'")
        lines += [f"        {item}" for item in extra]
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=".", help="the git repository to install the hooks in (default: here)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing .pre-commit-config.yaml")
    parser.add_argument("--no-install", action="store_true", help="write the config only; skip pre-commit install")


def install(repo: Path, force: bool = False, run_install: bool = True) -> Path:
    if not (repo / ".git").exists():
        raise DrumgateError("not a git repository", path=repo, hint="fix: git init, then drumgate init-hooks")
    config = repo / ".pre-commit-config.yaml"
    if config.exists() and not force and config.read_text(encoding="utf-8") != local_config():
        raise DrumgateError(
            "already has a .pre-commit-config.yaml", path=config, hint="fix: drumgate init-hooks --force to replace it"
        )
    atomic_write_bytes(config, local_config().encode("utf-8"))
    if run_install:
        pre_commit_install(repo)
    return config


def pre_commit_install(repo: Path) -> None:
    executable = shutil.which("pre-commit")
    command = [executable, "install"] if executable else [sys.executable, "-m", "pre_commit", "install"]
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DrumgateError(
            f"pre-commit install failed: {detail[-1] if detail else done.returncode}",
            path=repo,
            hint="fix: pip install pre-commit, then pre-commit install",
        )


def run(args: argparse.Namespace) -> int:
    repo = Path(args.repo).resolve()
    config = install(repo, force=args.force, run_install=not args.no_install)
    print(f"wrote {config}")
    if not args.no_install:
        print("installed the git pre-commit hook: every `git commit` now runs the drumgate checks")
    print("run them on everything once: pre-commit run --all-files")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.commands.init_hooks")


if __name__ == "__main__":
    raise SystemExit(main())

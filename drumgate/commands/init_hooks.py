"""`drumgate init-hooks [--repo DIR]`: install drumgate's pre-commit hooks in a data repository.

The repository is `--repo`, else `--workspace` / `DRUMGATE_WORKSPACE`, else the current folder; it
must be a git repository holding `configs/datasets.toml` (`drumgate init` makes one and installs
the hooks itself).

Writes `.pre-commit-config.yaml` with the hooks as `repo: local` entries that call the installed
`drumgate` (`language: system`: nothing to clone or build), then runs `pre-commit install`.
An existing config is kept unless `--force`; the hooks are the same as `.pre-commit-hooks.yaml`.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from drumgate.artifacts import (
    CHECKSUMS_DIR,
    DIFFS_DIR,
    HEALTH_DIR,
    LICENCES_DIR,
    LOCKS_DIR,
    MANIFESTS_DIR,
    PROVENANCE_DIR,
    SAMPLING_DIR,
    either,
)
from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_bytes

_REPORT_DIRS = either(HEALTH_DIR, SAMPLING_DIR, DIFFS_DIR)
MANIFESTS = rf"^{either(MANIFESTS_DIR, PROVENANCE_DIR)}/.*\.jsonl(\.gz)?$"
REPORTS = rf"^({_REPORT_DIRS}/.*|{LOCKS_DIR}/.*)\.json$"
# A partitioned manifest's index (its parts match MANIFESTS: `<folder>/[renders/]<part>.jsonl.gz`).
INDEXES = rf"^{either(MANIFESTS_DIR, PROVENANCE_DIR)}/[^/]+/index\.json$"
# The combined manifest: a reference to its sources' rows (`<ds>_events.json`).
REFERENCES = rf"^{MANIFESTS_DIR}/[^/]+_events\.json$"
# The licence hook also runs when only a licence note changes, or the datasets config (a new dataset's note).
LICENCE_INPUTS = (rf"^({either(MANIFESTS_DIR, PROVENANCE_DIR, CHECKSUMS_DIR, LOCKS_DIR, LICENCES_DIR)}/|{_REPORT_DIRS}/"
                  r"|configs/datasets\.toml$)")
EVENTS = rf"{MANIFESTS_DIR}/.*_events(\.jsonl(\.gz)?|/[^/]+\.jsonl\.gz)"
CHECKSUM_MANIFESTS = rf"{CHECKSUMS_DIR}/.*\.sha256"
PROVENANCE_FILES = rf"{PROVENANCE_DIR}/.*\.jsonl(\.gz)?"

# (id, name, hook, files regex, extra lines)
HOOKS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "drumgate-schema",
        "drumgate: artifacts match configs/schemas",
        "schema",
        f"({MANIFESTS}|{REPORTS}|{INDEXES}|{REFERENCES})",
        (),
    ),
    (
        "drumgate-taxonomy",
        "drumgate: labels and techniques exist in the taxonomy",
        "taxonomy",
        rf"^({EVENTS}|configs/(technique_taxonomy|crash_dual_label)\.json)$",
        (),
    ),
    (
        "drumgate-checksums",
        "drumgate: checksum manifests sound and agree with provenance",
        "checksums",
        rf"^{either(CHECKSUM_MANIFESTS, PROVENANCE_FILES)}$",
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
        rf"^{CHECKSUM_MANIFESTS}$",
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


def install(repo: Path, force: bool = False, run_install: bool = True) -> tuple[Path, bool]:
    """Write the hooks' config (and run `pre-commit install`); the config and whether its bytes changed."""
    quoted = shlex.quote(str(repo))
    has_configs = (repo / "configs" / "datasets.toml").is_file()
    if not (repo / ".git").exists():
        # `drumgate init` in a git repository installs the hooks too, and init-hooks would refuse a
        # folder without configs; the path is in both commands, so they work from any folder.
        then = f"drumgate init-hooks --repo {quoted}" if has_configs else f"drumgate init {quoted}"
        raise DrumgateError("not a git repository", path=repo, hint=f"fix: git init {quoted} && {then}")
    if not has_configs:  # the hooks would refuse every commit there
        raise DrumgateError("not a drumgate data repository (no configs/datasets.toml)", path=repo,
                            hint=f"fix: drumgate init {quoted}")
    config = repo / ".pre-commit-config.yaml"
    if config.exists() and not force and config.read_text(encoding="utf-8") != local_config():
        raise DrumgateError(
            "already has a .pre-commit-config.yaml", path=config, hint="fix: drumgate init-hooks --force to replace it"
        )
    content = local_config().encode("utf-8")
    changed = not config.is_file() or config.read_bytes() != content
    if changed:
        atomic_write_bytes(config, content)
    if run_install:
        pre_commit_install(repo)
    return config, changed


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

"""`drumgate hook <name>`: the command layer of the pre-commit hooks in `checks/`.

One module per hook parses its arguments (pre-commit passes the staged files as paths relative to
the current folder), hands a Reporter and plain values to the check in `checks/`, and for a hook
run by hand ends with one line saying what was checked. Each imports only its own check, so a hook
with nothing to check returns in a few milliseconds.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from checks._hookutil import Reporter, workspace_relative
from drumgate import cli
from drumgate.errors import EXIT_FINDINGS, EXIT_OK
from drumgate.workspace import Workspace

FileCheck = Callable[[Workspace, Sequence[str], Reporter], int]


def add_filenames(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filenames", nargs="*", help="files to check (pre-commit passes the staged ones)")


def run_on_files(hook: str, args: argparse.Namespace, check: FileCheck, whole_workspace: bool = False) -> int:
    """Run a check on the files given and end with the summary line. A path that does not exist is a
    finding of every hook alike: passed on, a check would skip it as not its kind (or not find it)."""
    reporter = Reporter()
    ws = cli.workspace_from(args)
    present = [name for name in args.filenames if os.path.exists(name)]
    missing = {workspace_relative(ws, name): name for name in args.filenames if name not in present}
    for relative, name in missing.items():
        if os.path.islink(name):  # pre-commit passes staged links: restoring one would not help
            from drumgate.git import git_text

            staged = git_text(["ls-files", "--", relative], ws.root)
            remove = f"git rm -f {shlex.quote(name)}" if staged else f"rm {shlex.quote(name)}"
            reporter.finding(relative, f"a symbolic link to {os.readlink(name)}, which does not exist",
                             hint=f"fix: {remove}, or point it at the file meant")
        else:
            reporter.finding(relative, "file not found", hint=not_found_fix(ws, hook, args, name, relative))
    # only missing files given: no check runs (without files, `checksums --all` would hash every tree)
    code = check(ws, present, reporter) if present or not missing else reporter.close()
    reporter.checked.update(missing)
    if whole_workspace and not args.filenames:
        checked = "the whole workspace checked"
    else:
        given = {workspace_relative(ws, name) for name in args.filenames}
        checked = files_checked(len(given), len(reporter.checked & given))
    return finish(hook, checked, code, reporter)


def not_found_fix(ws: Workspace, hook: str, args: argparse.Namespace, given: str, relative: str) -> str:
    """Its committed version when HEAD has it (a file deleted by hand), else the hook run again on the
    nearest name in that folder (a typo), else a listing of the nearest folder there is (as the
    readers say for a file not found)."""
    import difflib

    from drumgate.git import in_head, restore_command
    from drumgate.io.fsutil import look_around

    if in_head(ws.root, relative):
        return f"fix: {restore_command(given)}"
    folder, name = os.path.split(given)
    names = sorted(os.listdir(folder or ".")) if os.path.isdir(folder or ".") else []
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    if close:
        workspace = getattr(args, "workspace", None)
        words = ["drumgate", "hook", *hook.split(), *(["--workspace", workspace] if workspace else [])]
        words += ["--all"] if getattr(args, "all", False) else []
        return f"fix: {shlex.join([*words, os.path.join(folder, close[0])])}"
    return look_around(Path(given))


def files_checked(given: int, checked: int) -> str:
    """`3 files checked` when the check read every file given, else how many it read and why not the rest."""
    plural = "" if given == 1 else "s"
    if given == 0:  # by hand without files: say so, not "0 files checked" (which reads as all clean)
        return "no files given, nothing checked (pass the files to check)"
    if checked == given:
        return f"{given} file{plural} checked"
    skipped = given - checked
    return f"{checked} of {given} file{plural} checked ({skipped} {'is' if skipped == 1 else 'are'} not what it checks)"


def finish(hook: str, checked: str, exit_code: int, reporter: Reporter) -> int:
    """Print the summary line of a hook run by hand (findings or not) and pass the exit code on."""
    if exit_code in (EXIT_OK, EXIT_FINDINGS):
        line = summary_line(hook, checked, exit_code, reporter.findings)
        if line:
            print(line, flush=True)
    return exit_code


def summary_line(hook: str, checked: str, exit_code: int, findings: int) -> str | None:
    """`taxonomy: 3 files checked, 0 findings` for a hook run by hand; None under pre-commit, which
    shows a hook's output only when it fails and names the hook itself."""
    if os.environ.get("PRE_COMMIT"):
        return None
    if exit_code == EXIT_FINDINGS and not findings:  # found by a check that prints its own lines
        return f"{hook}: {checked}, findings above"
    return f"{hook}: {checked}, {findings} finding{'' if findings == 1 else 's'}"

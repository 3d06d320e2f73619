"""Generate a small seeded corpus in the three datasets' real layouts and run every stage on it.

The walk-through covers the three moments a user lives. Day one ingests everything and commits
it with drumgate's hooks installed. Day two a MUSDB track arrives while the Cambridge external
drive is unplugged: the changed datasets are re-ingested, reports are diffed against day one and
committed; then a hand-edited report is blocked by a hook, and `drumgate pr-report` renders the
pull-request comment for day two's commit.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drumgate.artifacts import HEALTH_DIR, LICENCES_DIR, OUTPUT_DIRS, events_manifest, health_report
from drumgate.errors import EXIT_FINDINGS, EXIT_INTERRUPTED, DrumgateError
from drumgate.git import run_git
from drumgate.workspace import DEFAULTS

FINDINGS_OK = frozenset({0, EXIT_FINDINGS})
DAY_ONE = "2026-01-14"
DAY_TWO = "2026-01-15"
DEMO_DATE = DAY_TWO  # the date of the final reports the demo leaves
LATE_TRACK = Path("test") / "Al James - Schoolboy Facination"
UNMOUNTED = {"DRUMGATE_CAMBRIDGE_EXTERNAL": "data/raw/unmounted_drive"}
MARKER = ".drumgate-demo"
UNFINISHED = ".drumgate-demo-unfinished"  # there from the start to the end of a run: left by one interrupted
GITIGNORE = f"data/raw/\n*.lck\n.*.tmp\npr-report/\n{UNFINISHED}\n"
DEMO_EMAIL = "demo@example.invalid"  # the demo's commits: any other author's commit is someone's work
DEFAULT_OUT = "demo-out"
DEFAULT_SEED = 7
# Runs one `drumgate` command line (the words after `drumgate`) and returns its exit code: each
# stage is one, run by the runner the caller passes in (the CLI passes its own `main`).
CommandRunner = Callable[[Sequence[str]], int]


@dataclass(frozen=True)
class Stage:
    title: str
    argv: tuple[str, ...]
    ok_codes: frozenset[int] = FINDINGS_OK
    env: dict[str, str] = field(default_factory=dict)


def _say(text: str = "") -> None:
    print(text, flush=True)


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        with _environment({"DRUMGATE_WORKSPACE": str(folder)}):
            saved_epoch = os.environ.pop("SOURCE_DATE_EPOCH", None)
            try:
                yield
            finally:
                if saved_epoch is not None:
                    os.environ["SOURCE_DATE_EPOCH"] = saved_epoch
    finally:
        os.chdir(previous)


def _work_after_the_demo(out: Path) -> str | None:
    """What in an earlier demo's folder the demo did not make, or None: a commit of someone else's, a
    change or a new file not committed (ignored files, the raw corpus among them, are the demo's)."""
    if not (out / ".git").exists():
        return None
    # author and committer: an amended or rebased commit keeps the demo's author, not its committer
    authors = run_git(["log", "--all", "--format=%ae %ce %s"], out)
    theirs = [line for line in authors.stdout.splitlines() if not line.startswith(f"{DEMO_EMAIL} {DEMO_EMAIL} ")]
    if authors.returncode != 0 or theirs:
        return f"commits made after the demo ({theirs[0].split(' ', 2)[-1][:60]!r} among them)" if theirs else (
            "a git repository the demo cannot read")
    changed = run_git(["status", "--porcelain", "--untracked-files=all"], out).stdout.splitlines()
    if changed and not (out / UNFINISHED).exists():  # an interrupted demo's changes are its own
        return f"{len(changed)} changed or new files not committed ({changed[0][3:][:60]} among them)"
    return None


def prepare_workspace(out: Path, force: bool) -> None:
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise DrumgateError("exists and is not a folder (not replaced, even with --force)", path=out,
                            hint="pick another --out")
    if out.exists() and any(out.iterdir()):
        fix = f"fix: drumgate demo --out {shlex.quote(str(out))}-2, or add --force to replace it"
        if not force and not (out / MARKER).exists():
            raise DrumgateError("folder exists and is not a drumgate demo", path=out, hint=fix)
        later = None if force else _work_after_the_demo(out)
        if later:  # a demo folder someone went on working in: replacing it would lose that work
            raise DrumgateError(f"an earlier demo, with {later}: not replaced", path=out, hint=fix)
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DrumgateError(f"cannot create the folder: {exc.strerror}", path=out, hint="pick another --out") from exc
    (out / MARKER).write_text("generated by drumgate demo\n")
    (out / UNFINISHED).write_text("a drumgate demo is running here, or was interrupted\n")
    shutil.copytree(DEFAULTS / "configs", out / "configs")
    shutil.copytree(DEFAULTS / "licenses", out / LICENCES_DIR)
    (out / ".gitignore").write_text(GITIGNORE)


def generate_corpus(out: Path, seed: int) -> dict[str, Path]:
    from drumgate.fixtures.cambridge import make_cambridge_corpus
    from drumgate.fixtures.egmd import make_egmd_corpus
    from drumgate.fixtures.musdb import make_musdb_corpus

    raw = out / "data" / "raw"
    roots = {
        "egmd": raw / "egmd",
        "cambridge (primary tier)": raw / "cambridge",
        "cambridge (external tier)": raw / "cambridge_external",
        "musdb_hq": raw / "musdb_hq",
    }
    make_egmd_corpus(roots["egmd"], seed=seed)
    make_cambridge_corpus(roots["cambridge (primary tier)"], roots["cambridge (external tier)"], seed=seed)
    make_musdb_corpus(roots["musdb_hq"], seed=seed)
    return roots


def _reports(datasets: Sequence[str], date: str, diffs: Sequence[Stage] = ()) -> list[Stage]:
    stamp = date.replace("-", "")
    stages = [Stage("Crash dual labels on every manifest", ("crash-map",))]
    for dataset in datasets:
        events = events_manifest(dataset)
        stages.append(Stage(f"{dataset}: health report with gates", ("health", "--events", events, "--date", date)))
        stages.append(
            Stage(
                f"{dataset}: per-session sampling weights",
                ("weights", "--events", events, "--group-by", "session_id", "--scheme", "effective", "--date", date),
            )
        )
    stages += [
        Stage(
            "Cambridge vs MUSDB: class and technique shares",
            ("compare", health_report("cambridge", stamp), health_report("musdb_hq", stamp)),
        ),
        *diffs,
        Stage("Combined production manifest with its gate", ("combine", "--date", date)),
        Stage("Docs: dated health summary and readiness plan", ("docs", "--date", date)),
    ]
    return stages


def day_one(date: str) -> list[Stage]:
    """Everything, from raw corpora to reports."""
    return [
        Stage("E-GMD: MIDI to events, sessions, provenance", ("ingest", "egmd", "--date", date)),
        Stage("E-GMD: checksums", ("checksums", "generate", "egmd")),
        Stage("Cambridge: checksums across the primary and external tiers", ("checksums", "generate", "cambridge")),
        Stage("Cambridge: dry inventory (review counts, tiers, warnings)", ("ingest", "cambridge", "--dry-run")),
        Stage("Cambridge: inventory and provenance", ("ingest", "cambridge")),
        Stage("Cambridge: onset events from close mics", ("events", "cambridge")),
        Stage("MUSDB18-HQ: inventory and drum-stem events", ("ingest", "musdb", "--date", date)),
        Stage("MUSDB18-HQ: checksums", ("checksums", "generate", "musdb_hq")),
        *_reports(("egmd", "cambridge", "musdb_hq"), date),
    ]


def day_two(date: str, baseline: str) -> list[Stage]:
    """A MUSDB track arrived and the external drive is unplugged: re-run what they touch."""
    stamp, base_stamp = date.replace("-", ""), baseline.replace("-", "")
    diffs = (
        Stage(
            "MUSDB18-HQ: diff against the previous dated baseline",
            ("diff", "--baseline", "auto", health_report("musdb_hq", stamp)),
        ),
        Stage(
            "Cambridge: diff against yesterday (the offline session is still counted)",
            ("diff", health_report("cambridge", base_stamp), health_report("cambridge", stamp)),
        ),
    )
    return [
        Stage("MUSDB18-HQ: re-ingest with the new track", ("ingest", "musdb", "--date", date)),
        Stage("MUSDB18-HQ: checksums for the new track", ("checksums", "generate", "musdb_hq")),
        Stage(
            "Cambridge: inventory with the external drive unplugged (carried forward as tier_offline)",
            ("ingest", "cambridge"),
            env=UNMOUNTED,
        ),
        Stage("Cambridge: events keep the offline session's committed rows", ("events", "cambridge"), env=UNMOUNTED),
        Stage("Cambridge: verify checksums (offline tier skipped)", ("checksums", "verify", "cambridge"),
              env=UNMOUNTED),
        *_reports(("cambridge", "musdb_hq"), date, diffs),
    ]


def run_stage(drumgate: CommandRunner, stage: Stage) -> int:
    shown_env = "".join(f"{key}={value} " for key, value in stage.env.items())
    _say(f"\n== {stage.title}\n$ {shown_env}drumgate {shlex.join(stage.argv)}")
    started = time.perf_counter()
    with _environment(stage.env):
        code = drumgate(list(stage.argv))
    _say(f"-> exit {code} ({time.perf_counter() - started:.1f} s)")
    if code == EXIT_INTERRUPTED:  # Ctrl-C reached the stage's command (which said so): the demo stops too
        raise DrumgateError(f"demo stopped during: drumgate {shlex.join(stage.argv)}", exit_code=EXIT_INTERRUPTED,
                            hint="run the same drumgate demo again: it starts over in the same folder")
    if code not in stage.ok_codes:
        raise DrumgateError(f"demo stage failed: drumgate {shlex.join(stage.argv)} exited {code}", exit_code=3)
    return code


def _git(args: Sequence[str], out: Path, date: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        # the hooks call `drumgate`: use this installation's even without an activated venv
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "GIT_AUTHOR_NAME": "drumgate demo",
        "GIT_AUTHOR_EMAIL": DEMO_EMAIL,
        "GIT_COMMITTER_NAME": "drumgate demo",
        "GIT_COMMITTER_EMAIL": DEMO_EMAIL,
        "GIT_AUTHOR_DATE": f"{date}T12:00:00Z",
        "GIT_COMMITTER_DATE": f"{date}T12:00:00Z",
    }
    return run_git(args, out, check=check, env=env)


def commit_all(out: Path, message: str, date: str) -> None:
    _git(["add", "-A"], out, date)
    _say(f"\n$ git add -A && git commit -m {shlex.quote(message)}")
    done = _git(["commit", "-q", "-m", message], out, date, check=False)
    _say((done.stdout + done.stderr).strip() or "(every drumgate hook passed)")
    if done.returncode != 0:
        raise DrumgateError("demo: a clean commit was blocked by a hook (see above)", exit_code=3)


def blocked_hand_edit(out: Path, date: str) -> None:
    _say("\n== A hand-edited report is blocked at commit time")
    report = sorted((out / HEALTH_DIR).glob("musdb_hq_2*.json"))[-1]
    relative = report.relative_to(out).as_posix()
    original = report.read_text()
    report.write_text(original.replace('"status": "fail"', '"status": "pass"', 1)
                      if '"status": "fail"' in original else original.replace('"events": ', '"events": 1', 1))
    _say(f"$ (edit {relative} by hand) && git commit -am 'Tweak the report'")
    blocked = _git(["commit", "-q", "-am", "Tweak the report"], out, date, check=False)
    _say((blocked.stdout + blocked.stderr).strip())
    if blocked.returncode == 0:
        raise DrumgateError("demo: the hand-edited report was not blocked", exit_code=3)
    _say("-> blocked. Undo the edit (or run the command the hook printed) and the tree is clean again:")
    _git(["checkout", "--", relative], out, date)
    _say(f"$ git checkout -- {relative}")


def pr_comment(drumgate: CommandRunner, out: Path) -> None:
    _say("\n== The second user moment: the pull-request comment for day two")
    run_stage(drumgate, Stage("PR health deltas between day one and day two",
                    ("pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", "pr-report")))
    comment = out / "pr-report" / "comment.md"
    lines = comment.read_text().splitlines()
    _say("\n".join(lines[:14]) + ("\n…" if len(lines) > 14 else ""))
    _say(f"(full comment: {comment})")


def run_demo(drumgate: CommandRunner, out: Path, seed: int = DEFAULT_SEED, force: bool = False,
             with_git: bool = True) -> int:
    """The whole walk-through in `out` (an absolute path); `with_git` adds the commits, hooks and PR comment."""
    started = time.perf_counter()
    prepare_workspace(out, force)
    _say(f"drumgate demo: seeded corpus (seed {seed}) in {out}")
    for name, root in generate_corpus(out, seed).items():
        _say(f"  {name:<26} {root.relative_to(out)}")
    musdb = out / "data" / "raw" / "musdb_hq"
    incoming = out / "data" / "raw" / "musdb_hq_incoming"
    (incoming / LATE_TRACK).parent.mkdir(parents=True, exist_ok=True)
    (musdb / LATE_TRACK).rename(incoming / LATE_TRACK)
    _say(f"  (MUSDB track '{LATE_TRACK.name}' arrives on day two)")
    with _inside(out):
        _say(f"\n######## Day one ({DAY_ONE}): ingest everything")
        for stage in day_one(DAY_ONE):
            run_stage(drumgate, stage)
        if with_git:
            _say("\n== The first user moment: `git commit` runs drumgate's hooks")
            _git(["init", "-q", "-b", "main"], out, DAY_ONE)
            if drumgate(["init-hooks", "--repo", str(out)]) != 0:
                raise DrumgateError("demo: installing the hooks failed", exit_code=3)
            commit_all(out, "Ingest the demo corpus", DAY_ONE)
        _say(f"\n######## Day two ({DAY_TWO}): a MUSDB track arrives, the external drive is unplugged")
        (incoming / LATE_TRACK).rename(musdb / LATE_TRACK)
        for stage in day_two(DAY_TWO, DAY_ONE):
            run_stage(drumgate, stage)
        if with_git:
            commit_all(out, "Add a MUSDB track; Cambridge external drive offline", DAY_TWO)
            blocked_hand_edit(out, DAY_TWO)
            pr_comment(drumgate, out)
    (out / UNFINISHED).unlink()
    _say(f"\nDone in {time.perf_counter() - started:.1f} s. Outputs in {out}:")
    for folder in OUTPUT_DIRS:
        files = sorted(p.name for p in (out / folder).glob("*") if p.is_file() and not p.name.endswith(".lck"))
        _say(f"  {folder}/: {', '.join(files) if files else '(none)'}")
    _say(f"  health pages: {out / HEALTH_DIR}/*.html (self-contained, open in a browser)")
    return 0

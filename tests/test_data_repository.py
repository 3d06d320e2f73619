"""A team's own data repository, as a new user makes it: `drumgate init`, workspace rules, repro.

Everything runs the real `drumgate` in a subprocess, real git and the real pre-commit hooks that
`drumgate init` installs, in folders outside the drumgate checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from drumgate.cli import missing_dependency
from drumgate.commands.init_repo import datasets_toml, workflow_text
from drumgate.config import load_datasets
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.workspace import DEFAULTS, Workspace
from tests.data_repo_support import drumgate, git, status, tree_listing

PROJECT = Path(__file__).resolve().parent.parent
GUARDED = ("data", "reports")


def _project_artifacts() -> dict[str, int]:
    folders = [PROJECT / top for top in GUARDED if (PROJECT / top).is_dir()]
    return {f"{folder.name}/{k}": v for folder in folders for k, v in tree_listing(folder).items()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "drum-data"
    root.mkdir()
    assert git(root, "init", "-q", "-b", "main").returncode == 0
    return root


def test_init_scaffolds_a_repository_and_a_second_run_changes_nothing(repo: Path) -> None:
    done = drumgate(repo, "init")
    assert done.returncode == 0, done.stderr
    for name in (
        "configs/datasets.toml", "configs/technique_taxonomy.json", "configs/crash_dual_label.json",
        "configs/stem_names.json", "configs/schemas/events.schema.json", "data/licenses/egmd.md",
        "data/licenses/cambridge.md", "data/licenses/musdb_hq.md", ".gitignore", ".pre-commit-config.yaml",
        ".github/workflows/pr-health.yml", ".github/workflows/pr-comment.yml", ".github/workflows/pr-hooks.yml",
        ".github/workflows/ingest.yml",
        "DATASET_READINESS_PLAN.md",
    ):
        assert (repo / name).is_file(), name
    assert (repo / ".git" / "hooks" / "pre-commit").is_file()
    gitignore = (repo / ".gitignore").read_text().splitlines()
    assert "data/raw/" in gitignore and "*.lck" in gitignore
    before = {p: (repo / p).read_bytes() for p in tree_listing(repo)}
    again = drumgate(repo, "init")
    assert again.returncode == 0 and "wrote 0 files" in again.stdout
    assert {p: (repo / p).read_bytes() for p in tree_listing(repo)} == before


def test_init_never_overwrites_a_file_the_user_edited(repo: Path) -> None:
    (repo / "configs").mkdir()
    mine = b"# our own storage roots\n" + (DEFAULTS / "configs" / "datasets.toml").read_bytes()  # valid, edited
    (repo / "configs" / "datasets.toml").write_bytes(mine)
    done = drumgate(repo, "init")
    assert done.returncode == 0
    assert (repo / "configs" / "datasets.toml").read_bytes() == mine
    assert "kept your configs/datasets.toml" in done.stdout


def test_init_writes_only_the_named_datasets_and_a_valid_config(tmp_path: Path) -> None:
    root = tmp_path / "only-egmd"
    done = drumgate(tmp_path, "init", str(root), "--datasets", "egmd", "--no-hooks")
    assert done.returncode == 0, done.stderr
    config = load_datasets(Workspace(root))
    assert sorted(config.datasets) == ["egmd"]
    assert config.combined["mix"] == {"egmd": 1.0}
    assert not (root / "data" / "licenses" / "cambridge.md").exists()


def test_init_adds_a_named_dataset_to_an_existing_repository_and_a_bare_run_keeps_its_own(tmp_path: Path) -> None:
    root = tmp_path / "grows"
    assert drumgate(tmp_path, "init", str(root), "--datasets", "egmd", "--no-hooks").returncode == 0
    assert (root / "data" / "raw" / "egmd").is_dir()  # where the README copies the raw corpus
    first = (root / "configs" / "datasets.toml").read_text()
    added = drumgate(tmp_path, "init", str(root), "--datasets", "cambridge", "--no-hooks")
    assert added.returncode == 0, added.stderr
    assert "added cambridge to your configs/datasets.toml" in added.stdout
    text = (root / "configs" / "datasets.toml").read_text()
    assert text.startswith(first)  # the team's file above is untouched
    config = load_datasets(Workspace(root))
    default = tomllib.loads((DEFAULTS / "configs" / "datasets.toml").read_text())
    assert sorted(config.datasets) == ["cambridge", "egmd"]
    assert tomllib.loads(text)["datasets"]["cambridge"] == default["datasets"]["cambridge"]
    assert config.combined["mix"] == {"egmd": 1.0}  # mixing it in stays the team's decision
    assert (root / "data" / "licenses" / "cambridge.md").is_file() and (root / "data" / "raw" / "cambridge").is_dir()
    before = {p: (root / p).read_bytes() for p in tree_listing(root)}
    bare = drumgate(tmp_path, "init", str(root), "--no-hooks")
    assert bare.returncode == 0 and "datasets: egmd, cambridge" in bare.stdout and "wrote 0 files" in bare.stdout
    assert {p: (root / p).read_bytes() for p in tree_listing(root)} == before  # no musdb_hq licence note


def test_a_bare_init_names_a_repositorys_own_datasets_and_where_their_raw_files_go(tmp_path: Path) -> None:
    root = tmp_path / "own"
    assert drumgate(tmp_path, "init", str(root), "--datasets", "egmd", "--no-hooks").returncode == 0
    config = root / "configs" / "datasets.toml"
    text = config.read_text()
    own = text[text.index("[datasets.egmd]"):text.index("[combined]") if "[combined]" in text else len(text)]
    renamed = own.replace("datasets.egmd", "datasets.mykit").replace('group = "egmd"', 'group = "mykit"')
    config.write_text(text + "\n" + renamed)
    bare = drumgate(tmp_path, "init", str(root), "--no-hooks")
    assert bare.returncode == 0, bare.stderr
    assert f"drumgate init: {root} (datasets: egmd, mykit)" in bare.stdout
    assert ("put raw data under data/raw/egmd, in the roots configs/datasets.toml names for mykit,"
            in bare.stdout), bare.stdout
    # the ingests it names run as printed: mykit has none of its own (it printed `drumgate ingest <ds>`)
    assert "run `drumgate ingest egmd`,\nthen `drumgate repro`" in bare.stdout, bare.stdout


@pytest.mark.parametrize("content", ["", "version = 1\n[datasets.egmd\n"])
def test_init_refuses_a_broken_datasets_toml_with_a_fix_that_works(tmp_path: Path, content: str) -> None:
    root = tmp_path / "broken"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "datasets.toml").write_text(content, encoding="utf-8")
    refused = drumgate(tmp_path, "init", str(root), "--no-hooks")
    assert refused.returncode == 2 and refused.stdout == ""
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("broken/configs/datasets.toml") and "(fix: mv " in line  # named from where it ran
    fix, why = line.rsplit("(fix: ", 1)[1].removesuffix(")").split(" to write drumgate's defaults", 1)
    assert "copy your own settings back from" in why, line  # init writes the defaults, not the team's edits
    assert subprocess.run(fix, shell=True, cwd=tmp_path, check=False).returncode == 0
    assert (root / "configs" / "datasets.toml").read_text(encoding="utf-8").startswith("# Storage roots")


def test_an_ingest_of_an_empty_root_commits_through_the_hooks(repo: Path) -> None:
    """Its manifests are written empty with a finding (exit 1); the lock records them as written, so
    every hook accepts them (the checksums hook refused the empty provenance with a fix that could not
    help: regenerating wrote it empty again)."""
    assert drumgate(repo, "init", "--datasets", "mdb_drums").returncode == 0
    assert drumgate(repo, "ingest", "mdb_drums").returncode == 1
    assert drumgate(repo, "repro").returncode == 1  # its ingest's finding again: the root is still empty
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "an empty MDB Drums root")
    assert commit.returncode == 0, commit.stdout + commit.stderr


def test_a_mistyped_events_path_is_worded_as_missing_with_a_fix_that_works(repo: Path) -> None:
    assert drumgate(repo, "init", "--datasets", "egmd", "--no-hooks").returncode == 0
    (repo / "data" / "manifests").mkdir(parents=True)
    typo = drumgate(repo, "health", "--events", "data/manifests/egmd_event.jsonl")
    assert typo.returncode == 2 and typo.stderr.strip() == (
        "data/manifests/egmd_event.jsonl: file not found"
        " (fix: ls data/manifests and pass one of its <ds>_events.jsonl)")
    assert subprocess.run(["ls", "data/manifests"], cwd=repo, check=False).returncode == 0  # the fix as printed
    not_yet = drumgate(repo, "weights", "--events", "data/manifests/egmd_events.jsonl")
    assert not_yet.returncode == 2
    assert not_yet.stderr.strip().endswith("file not found (fix: drumgate ingest egmd)")


def test_datasets_toml_keeps_every_table_of_the_chosen_datasets() -> None:
    default = (DEFAULTS / "configs" / "datasets.toml").read_text()
    chosen = tomllib.loads(datasets_toml(default, ["musdb_hq", "egmd"]))
    full = tomllib.loads(default)
    assert chosen["datasets"] == {k: full["datasets"][k] for k in ("musdb_hq", "egmd")}
    assert chosen["combined"]["gates"] == full["combined"]["gates"]


def test_scaffolded_workflows_install_drumgate_from_the_spec_not_the_checkout() -> None:
    for name in ("pr-health.yml", "pr-comment.yml", "pr-hooks.yml", "ingest.yml"):
        text = workflow_text((DEFAULTS / "workflows" / name).read_text(), "drumgate==9.9.9")
        install_lines = [line for line in text.splitlines() if "pip install" in line]
        assert install_lines, name
        for line in install_lines:
            assert not line.rstrip().endswith(" ."), line
        assert any('"drumgate==9.9.9"' in line for line in install_lines), name


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        ("file", ("init", "target"), "is a file, not a folder"),
        ("none", ("init", "--datasets", "egmd,foo"), "unknown dataset 'foo'"),
        ("none", ("repro", "nope"), None),
        ("none", ("health", "--events", "x.jsonl"), "not inside a drumgate data repository"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, setup: str, args: tuple[str, ...], expected: str | None
) -> None:
    if setup == "file":
        (tmp_path / "target").write_text("not a folder")
    done = drumgate(tmp_path, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    if expected:
        assert expected in lines[0]


def test_repro_names_the_known_groups_for_an_unknown_one(repo: Path) -> None:
    drumgate(repo, "init", "--no-hooks")
    done = drumgate(repo, "repro", "nope")
    assert done.returncode == 2
    assert "unknown artifact group 'nope' (known: cambridge, egmd, mdb_drums, musdb_hq, prod_combined)" in done.stderr
    assert done.stderr.rstrip().endswith("(fix: drumgate repro GROUP with GROUP one of cambridge, egmd, mdb_drums,"
                                         " musdb_hq, prod_combined, or drumgate repro for all)")
    # a typo is pointed at the group meant (it pointed at the first group, cambridge, whatever was typed)
    done = drumgate(repo, "repro", "egdm", "--dry-run")
    assert done.returncode == 2 and done.stderr.rstrip().endswith("(fix: drumgate repro egmd)"), done.stderr
    # the short dataset name other commands take stands for its group
    done = drumgate(repo, "repro", "musdb", "--dry-run")
    assert done.returncode != 2 and "unknown artifact group" not in done.stderr, done.stderr


def test_init_in_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere: the check cannot be exercised")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = drumgate(tmp_path, "init", str(locked / "repo"))
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2 and "not writable" in done.stderr


def test_missing_optional_package_names_its_extra() -> None:
    line = missing_dependency("pretty_midi")
    assert "pip install 'drumgate[bench]'" in line
    assert "mir_eval" in missing_dependency("mir_eval.onset") and "drumgate[test]" in missing_dependency("mir_eval")
    # a runtime dependency that an extra lists too: the install is broken, no extra is the answer
    assert missing_dependency("duckdb").endswith("(fix: pip install duckdb, or reinstall drumgate)")


def _egmd_repo(repo: Path) -> None:
    assert drumgate(repo, "init", "--datasets", "egmd").returncode == 0
    make_egmd_corpus(repo / "data" / "raw" / "egmd", seed=3, performances=4, kits=2)


def test_new_repository_ingest_repro_commit_passes_the_hooks_and_stays_inside(repo: Path) -> None:
    project_before = _project_artifacts()
    _egmd_repo(repo)
    ingest = drumgate(repo, "ingest", "egmd")
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    repro = drumgate(repo, "repro")
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:]
    assert git(repo, "add", "-A").returncode == 0
    staged = git(repo, "diff", "--cached", "--name-only").stdout.split()
    assert not [name for name in staged if name.startswith("data/raw/") or name.endswith(".lck")]
    commit = git(repo, "commit", "-q", "-m", "first ingest")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    for name in ("data/manifests/egmd_events.jsonl", "data/archives/checksums/egmd.sha256",
                 "data/manifests/prod_combined_events.json", "data/locks/egmd.lock.json"):
        assert (repo / name).is_file(), name
    assert list((repo / "reports" / "health").glob("egmd_*.json"))
    assert _project_artifacts() == project_before
    again = drumgate(repo, "repro")
    assert again.returncode == 0 and status(repo) == "", status(repo)


def test_user_paths_are_relative_to_the_current_folder(repo: Path) -> None:
    _egmd_repo(repo)
    assert drumgate(repo, "ingest", "egmd").returncode == 0
    sub = repo / "scratch"
    sub.mkdir()
    done = drumgate(sub, "health", "--events", "../data/manifests/egmd_events.jsonl", "--output", "h.json")
    assert done.returncode in (0, 1), done.stderr
    assert (sub / "h.json").is_file()
    assert not (repo / "h.json").exists()


def test_scratch_output_outside_the_workspace_leaves_git_status_clean(repo: Path, tmp_path: Path) -> None:
    _egmd_repo(repo)
    assert drumgate(repo, "ingest", "egmd").returncode == 0
    assert drumgate(repo, "repro").returncode == 0
    git(repo, "add", "-A")
    assert git(repo, "commit", "-q", "-m", "x").returncode == 0
    scratch = tmp_path / "elsewhere" / "x.json"
    done = drumgate(repo, "health", "--events", "data/manifests/egmd_events.jsonl", "--output", str(scratch))
    assert done.returncode in (0, 1) and scratch.is_file()
    assert "outside the workspace" in done.stderr
    assert status(repo) == ""


def test_a_lock_naming_a_path_outside_the_workspace_is_fixed_by_repro(repo: Path) -> None:
    _egmd_repo(repo)
    assert drumgate(repo, "ingest", "egmd").returncode == 0
    lock_path = repo / "data" / "locks" / "egmd.lock.json"
    lock = json.loads(lock_path.read_text())
    lock["artifacts"]["/tmp/gone/egmd_20200101.json"] = next(iter(lock["artifacts"].values()))
    lock_path.write_text(json.dumps(lock))
    git(repo, "add", "-A")
    blocked = drumgate(repo, "hook", "freshness")
    assert blocked.returncode in (1, 2)
    assert "fix: drumgate repro egmd" in blocked.stdout + blocked.stderr
    fixed = drumgate(repo, "repro", "egmd")
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "/tmp/gone" not in lock_path.read_text()


def test_repro_of_the_combined_group_alone_regenerates_its_docs(repo: Path) -> None:
    _egmd_repo(repo)
    assert drumgate(repo, "ingest", "egmd").returncode == 0
    assert drumgate(repo, "repro").returncode == 0
    plan = repo / "DATASET_READINESS_PLAN.md"
    written = plan.read_text()
    begin = "<!-- drumgate:status:begin -->\n"
    plan.write_text(written.replace(begin, begin + "all gates pass (hand edit)\n"))
    dry = drumgate(repo, "repro", "prod_combined", "--dry-run")
    assert "drumgate docs" in dry.stdout and "drumgate ingest" not in dry.stdout
    done = drumgate(repo, "repro", "prod_combined")
    assert done.returncode == 0, done.stderr[-2000:]
    assert plan.read_text() == written


def test_init_hooks_installs_in_the_workspace_named_and_refuses_a_plain_repository(tmp_path: Path) -> None:
    plain, data = tmp_path / "plain", tmp_path / "data"
    for root in (plain, data):
        root.mkdir()
        assert git(root, "init", "-q").returncode == 0
    refused = drumgate(plain, "init-hooks")
    assert refused.returncode == 2 and "not a drumgate data repository" in refused.stderr
    assert f"(fix: drumgate init {plain})" in refused.stderr and not (plain / ".pre-commit-config.yaml").exists()
    assert drumgate(data, "init", "--datasets", "egmd", "--no-hooks").returncode == 0
    installed = drumgate(plain, "--workspace", str(data), "init-hooks")
    assert installed.returncode == 0, installed.stderr
    assert (data / ".git" / "hooks" / "pre-commit").is_file() and not (plain / ".pre-commit-config.yaml").exists()
    assert f"cd {data} && pre-commit run --all-files" in installed.stdout
    config = data / ".pre-commit-config.yaml"
    assert installed.stdout.startswith(f"unchanged: {config}\n"), "init wrote it; it said `wrote` for the same bytes"
    config.unlink()
    again = drumgate(plain, "--workspace", str(data), "init-hooks")
    assert again.stdout.startswith(f"wrote {config}\n") and config.is_file(), again.stdout


def test_an_unconfigured_dataset_names_the_init_that_adds_it(tmp_path: Path) -> None:
    root = tmp_path / "egmd-only"
    assert drumgate(tmp_path, "init", str(root), "--datasets", "egmd", "--no-hooks").returncode == 0
    refused = drumgate(root, "ingest", "musdb")
    assert refused.returncode == 2
    fix = refused.stderr.strip().rsplit("(fix: ", 1)[1].removesuffix(" to add it)")
    assert fix == f"drumgate init {root} --datasets musdb_hq"
    assert drumgate(tmp_path, *fix.split()[1:]).returncode == 0  # as printed, from anywhere
    assert sorted(load_datasets(Workspace(root)).datasets) == ["egmd", "musdb_hq"]


def test_unknown_dataset_fix_keeps_the_command_and_runs_as_printed(tmp_path: Path) -> None:
    """A mistyped dataset is replaced by the known one it is closest to, an unknown one left out, and the
    folder and flags typed are kept: the fix makes the repository asked for, with the datasets meant."""
    from tests.test_fix_commands import fix_commands, run_as_printed

    done = drumgate(tmp_path, "init", "my repo", "--datasets", "musdb_h,egmd,foo", "--no-hooks")
    assert done.returncode == 2
    assert "unknown datasets 'musdb_h', 'foo' (known: cambridge, musdb_hq, egmd, mdb_drums)" in done.stderr
    [command] = fix_commands(done.stderr)
    assert command == "drumgate init 'my repo' --datasets musdb_hq,egmd --no-hooks"
    assert run_as_printed(tmp_path, command).returncode == 0
    assert list(load_datasets(Workspace(tmp_path / "my repo")).datasets) == ["musdb_hq", "egmd"]


def test_init_takes_the_dataset_spellings_other_commands_take(tmp_path: Path) -> None:
    """Any case, and the aliases `drumgate ingest` takes (`musdb`, `mdb`); the pin hint keeps the folder."""
    done = drumgate(tmp_path, "init", "repo", "--datasets", "Egmd,MUSDB,mdb", "--no-hooks")
    assert done.returncode == 0, done.stderr
    assert sorted(load_datasets(Workspace(tmp_path / "repo")).datasets) == ["egmd", "mdb_drums", "musdb_hq"]
    assert "pin it: drumgate init repo --install-spec 'URL-of-the-wheel#sha256=DIGEST'" in done.stdout
    refused = drumgate(tmp_path, "init", "other", "--datasets", "egmd,foo,bar")
    assert "unknown datasets 'foo', 'bar' (known: " in refused.stderr


def test_init_makes_the_repository_where_workspace_points(tmp_path: Path) -> None:
    """`--workspace` is every command's folder option: init made the repository in the current folder."""
    done = drumgate(tmp_path, "init", "--workspace", "team-data", "--datasets", "egmd", "--no-hooks")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "team-data" / "configs" / "datasets.toml").is_file()
    assert not (tmp_path / "configs").exists()
    both = drumgate(tmp_path, "init", "other", "--workspace", "team-data")
    assert (both.returncode, both.stderr) == (2, "two folders given: other and --workspace team-data"
                                                 " (fix: drumgate init other)\n")


def test_no_shipped_json_config_or_schema_sets_a_key_twice() -> None:
    """`session_rules` was written twice into stem_names.json and its schema: JSON loaders keep the last
    copy, so a team editing the first (as docs/cambridge.md says to) would have the edit ignored."""
    def no_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"set twice: {sorted({k for k in keys if keys.count(k) > 1})}"
        return dict(pairs)

    shipped = sorted((DEFAULTS / "configs").rglob("*.json"))
    assert len(shipped) > 10
    for path in shipped:
        json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_repeats)

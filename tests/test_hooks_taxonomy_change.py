"""Real git, real pre-commit: a commit that changes the taxonomy or the crash map is judged against the
whole workspace (the configs that name classes, every committed events manifest), with every problem of
the taxonomy files named at once, paths relative to the repository root, and fixes that run as printed."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from drumgate.taxonomy import CrashLabel, TaxonomyClass, Technique, structure_problems
from tests.hooks_support import event, write_group
from tests.test_fix_commands import fix_commands
from tests.test_hooks_git import commit, git, repo  # noqa: F401 - `repo` is the shared fixture

TAXONOMY = "configs/technique_taxonomy.json"
CRASH_MAP = "configs/crash_dual_label.json"


def _commit_group_with_a_hihat(ws, env) -> None:
    write_group(ws, rows=[event(0), event(1, label="hihat", techniques=["closed"])])
    done = commit(ws.root, env, "data", "reports")
    assert done.returncode == 0, done.stdout


def _taxonomy_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "'hihat'" in line]


def test_renaming_a_class_is_refused_naming_every_file_that_still_says_it(repo):  # noqa: F811
    ws, env = repo
    _commit_group_with_a_hihat(ws, env)
    path = ws.root / TAXONOMY
    original = path.read_text()
    # without the old name as an alias, the hat pipelines would lose the hi-hat: that one finding says so
    path.write_text(original.replace('"hihat"', '"hi_hat_cymbal"'))
    done = commit(ws.root, env, TAXONOMY)
    assert done.returncode != 0
    assert (f"{TAXONOMY}: no class is named or aliased 'hihat', the name the E-GMD, Cambridge and MUSDB pipelines"
            " find the hi-hat by to infer closed/half_open/open: add 'hihat' to the aliases of your hi-hat class"
            f" (fix: correct it in {TAXONOMY}, or git checkout HEAD -- {TAXONOMY} to undo the change)"
            in done.stdout.splitlines()), done.stdout
    # with it, the configs that name classes by id alone are named (the note map and MDB labels take aliases)
    path.write_text(original.replace('"hihat"', '"hi_hat_cymbal"').replace('"hh"', '"hihat", "hh"'))
    done = commit(ws.root, env, TAXONOMY)
    assert done.returncode != 0
    out = done.stdout
    assert "configs/stem_names.json: rules/" in out and "(hihat_fx): 'hihat' is not a taxonomy class" in out
    assert "configs/roland_note_map.json" not in out and "configs/mdb_drums.json" not in out
    lines = _taxonomy_lines(out)
    assert len(lines) >= 3 and all(f"git checkout HEAD -- {TAXONOMY} to undo the change" in line for line in lines)
    assert str(ws.root) not in out
    # the undo it prints works as printed, and the hook then passes
    commands = [command for command in fix_commands(out) if command.startswith("git checkout")]
    assert commands == [f"git checkout HEAD -- {TAXONOMY}"]
    undone = subprocess.run(shlex.split(commands[0]), cwd=ws.root, env=env, capture_output=True, text=True,
                            check=False)
    assert undone.returncode == 0, undone.stderr
    again = subprocess.run(["drumgate", "hook", "taxonomy", TAXONOMY], cwd=ws.root, env=env, capture_output=True,
                           text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert git(ws.root, env, "status", "--porcelain").stdout == ""


def test_every_problem_of_the_taxonomy_comes_at_once_with_relative_paths(repo):  # noqa: F811
    ws, env = repo
    path = ws.root / TAXONOMY
    taxonomy = json.loads(path.read_text())
    for cls in taxonomy["classes"]:
        if cls["id"] == "hihat":
            cls["id"] = "hi_hat_cymbal"
    path.write_text(json.dumps(taxonomy, indent=2))
    done = commit(ws.root, env, TAXONOMY)
    assert done.returncode != 0
    lines = [line for line in done.stdout.splitlines() if line.startswith(f"{TAXONOMY}: ")]
    assert any("technique 'ghost' applies to unknown class 'hihat'" in line for line in lines)
    assert any("technique 'pedal' applies to unknown class 'hihat'" in line for line in lines)
    assert any("vocabulary 'adtof5' maps unknown class 'hihat'" in line for line in lines)
    assert any("vocabulary 'vogl18' maps unknown class 'hihat'" in line for line in lines)
    assert all(line.endswith(f"(fix: correct it in {TAXONOMY}, or git checkout HEAD -- {TAXONOMY} to undo the change)")
               for line in lines), lines
    assert "correct the taxonomy file" not in done.stdout and str(ws.root) not in done.stdout


def test_the_crash_map_finding_names_the_crash_map(repo):  # noqa: F811
    ws, env = repo
    path = ws.root / CRASH_MAP
    crash_map = json.loads(path.read_text())
    crash_map["variants"]["stack"] = {"primary": "crash", "secondary": "stack_cymbal"}
    path.write_text(json.dumps(crash_map, indent=2))
    done = commit(ws.root, env, CRASH_MAP)
    assert done.returncode != 0
    expected = (f"{CRASH_MAP}: crash variant 'stack' maps to unknown class 'stack_cymbal' (fix: correct it in "
                f"{CRASH_MAP}, or git checkout HEAD -- {CRASH_MAP} to undo the change)")
    assert expected in done.stdout.splitlines(), done.stdout
    undone = subprocess.run(shlex.split(fix_commands(expected)[0]), cwd=ws.root, env=env, check=False)
    assert undone.returncode == 0 and json.loads(path.read_text()).get("variants", {}).get("stack") is None


def test_structure_problems_are_all_named_with_the_file_to_change() -> None:
    classes = [TaxonomyClass("crash", None, "Crash", ()), TaxonomyClass("a", "b", "A", ()),
               TaxonomyClass("b", "a", "B", ()), TaxonomyClass("c", None, "C", ("crash",))]
    techniques = [Technique("ghost", ("hihat", "snare"), "Ghost", ())]
    problems = structure_problems(classes, techniques, [], "crash", {"stack": CrashLabel("crash", "stack")})
    assert problems == [
        ("technique_taxonomy.json", "class alias 'crash' names both 'crash' and 'c'"),
        ("technique_taxonomy.json", "class parents form a cycle through 'a'"),
        ("technique_taxonomy.json", "technique 'ghost' applies to unknown class 'hihat'"),
        ("technique_taxonomy.json", "technique 'ghost' applies to unknown class 'snare'"),
        ("crash_dual_label.json", "crash variant 'stack' maps to unknown class 'stack'"),
    ]


def test_a_config_the_workspace_lacks_is_no_finding(tmp_path: Path) -> None:
    from checks import check_taxonomy
    from checks._hookutil import Reporter
    from drumgate.cli.hooks.taxonomy import class_configs
    from tests.hooks_support import make_workspace

    ws = make_workspace(tmp_path / "ws")
    (ws.configs / "mdb_drums.json").unlink()
    (ws.configs / "stem_names.json").unlink()
    reporter = Reporter()
    assert check_taxonomy.check_files(ws, [str(ws.configs / "technique_taxonomy.json")], reporter, class_configs) == 0

"""The README's two fresh-machine commands are the ones CI and users actually run."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT


def _commands() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_gives_demo_and_test_commands() -> None:
    commands = _commands()
    assert any("drumgate demo" in c and "pip install -e ." in c for c in commands)
    assert any("pytest" in c for c in commands)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = next(c for c in _commands() if "pytest" in c).split("&&")[-1].strip()
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert test_command in ci
    assert "-eq 5" in ci  # a run that collects no test fails

"""The workflows `drumgate init` writes install drumgate from the spec it was given. The default names
a release on the package index, which a team's runners may not have: init says so, and typing
`--install-spec` again later pins every workflow that differs from drumgate's in that line alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from drumgate import __version__, cli

WORKFLOWS = ("pr-health.yml", "pr-comment.yml", "pr-hooks.yml", "ingest.yml")
PINNED = "https://example.org/drumgate-0.1.0-py3-none-any.whl#sha256=" + "0" * 64


def install_lines(root: Path) -> set[str]:
    return {line for name in WORKFLOWS for line in workflow_installs(root, name)}


def workflow_installs(root: Path, name: str) -> list[str]:
    """What one workflow init wrote `pip install`s (every workflow installs drumgate somewhere)."""
    lines = (root / ".github" / "workflows" / name).read_text(encoding="utf-8").splitlines()
    found = [line.split("--disable-pip-version-check ", 1)[1] for line in lines
             if "pip install --disable-pip-version-check" in line]
    assert found, name
    return found


def test_the_default_spec_is_named_and_a_typed_one_pins_the_workflows_later(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "drum-data"
    assert cli.main(["init", str(root), "--datasets", "egmd", "--no-hooks"]) == 0
    out = capsys.readouterr().out
    # a note: its URL is yours
    assert f"pin it: drumgate init {root} --install-spec 'URL-of-the-wheel#sha256=DIGEST'" in out
    assert install_lines(root) == {f'"drumgate=={__version__}"'}

    assert cli.main(["init", str(root), "--install-spec", PINNED, "--no-hooks"]) == 0
    assert "install-spec" not in capsys.readouterr().out
    assert install_lines(root) == {f'"{PINNED}"'}

    assert cli.main(["init", str(root), "--no-hooks"]) == 0  # a plain init keeps the pin
    assert install_lines(root) == {f'"{PINNED}"'}


def test_a_workflow_the_team_edited_is_kept_when_the_spec_changes(tmp_path: Path) -> None:
    root = tmp_path / "drum-data"
    assert cli.main(["init", str(root), "--datasets", "egmd", "--no-hooks"]) == 0
    edited = root / ".github" / "workflows" / "ingest.yml"
    edited.write_text(edited.read_text(encoding="utf-8") + "# our own step\n", encoding="utf-8")
    assert cli.main(["init", str(root), "--install-spec", PINNED, "--no-hooks"]) == 0
    assert edited.read_text(encoding="utf-8").endswith("# our own step\n")
    assert f'"{PINNED}"' not in edited.read_text(encoding="utf-8")
    for name in ("pr-health.yml", "pr-hooks.yml"):
        assert set(workflow_installs(root, name)) == {f'"{PINNED}"'}, name


def test_a_repository_made_before_a_workflow_was_shipped_gets_it_with_its_own_spec(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "drum-data"
    assert cli.main(["init", str(root), "--datasets", "egmd", "--install-spec", PINNED, "--no-hooks"]) == 0
    (root / ".github" / "workflows" / "pr-hooks.yml").unlink()  # as init wrote it before pr-hooks.yml shipped
    capsys.readouterr()
    assert cli.main(["init", str(root), "--install-spec", PINNED, "--no-hooks"]) == 0
    assert "  wrote 1 file" in capsys.readouterr().out
    assert install_lines(root) == {f'"{PINNED}"'}

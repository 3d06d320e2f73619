"""The layout rules of issue 14, checked over the whole tree: only `drumgate/cli/` sees argparse and
`drumgate.cli` (a `__main__.py` shim and the console script's entry, `drumgate/console.py`, may call
into it), and no module is over 400 lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.test_ingestor_contract import command_line_imports

PACKAGES = ("drumgate", "ingest", "checks")
MAX_LINES = 400
# outside drumgate/cli/ so that a Ctrl-C while drumgate.cli's modules load is caught
CONSOLE_ENTRY = PROJECT_ROOT / "drumgate" / "console.py"


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (PROJECT_ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def test_the_tree_has_modules_to_check() -> None:
    assert len(modules()) > 50


def test_only_the_cli_sees_the_command_line() -> None:
    cli = PROJECT_ROOT / "drumgate" / "cli"
    outside = {relative(path): sorted(command_line_imports(path)) for path in modules()
               if cli not in path.parents and path.name != "__main__.py" and path != CONSOLE_ENTRY
               and command_line_imports(path)}
    assert outside == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_the_limit(package: str) -> None:
    long = {relative(path): lines for path in (PROJECT_ROOT / package).rglob("*.py")
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}

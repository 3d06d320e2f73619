"""Tests here read ../shared/realdata; they skip when it is absent (e.g. on a user's machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REALDATA

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # this hook sees every collected test, so act only on the ones in this folder
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        item.add_marker(pytest.mark.realdata)
        if not REALDATA.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"real data folder {REALDATA} is absent"))

"""Tests here read ../shared/realdata; they skip when it is absent (e.g. on a user's machine)."""

from __future__ import annotations

import pytest

from tests.conftest import REALDATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.realdata)
        if not REALDATA.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"real data folder {REALDATA} is absent"))

"""The one worker-count policy (drumgate.workers): --jobs, DRUMGATE_WORKERS, affinity, items."""

from __future__ import annotations

import os

import pytest

from drumgate import workers
from drumgate.errors import DrumgateError


@pytest.fixture(autouse=True)
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(workers.WORKERS_ENV, raising=False)
    monkeypatch.setattr(workers, "available_cpus", lambda: 4)


def test_explicit_jobs_win_over_setting_and_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workers.WORKERS_ENV, "3")
    assert workers.worker_count(jobs=7) == 7


def test_setting_wins_over_cpus_and_is_not_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workers.WORKERS_ENV, "6")
    assert workers.worker_count(cap=2) == 6


def test_cpus_are_the_default_and_cap_bounds_them() -> None:
    assert workers.worker_count() == 4
    assert workers.worker_count(jobs=0) == 4
    assert workers.worker_count(cap=2) == 2


def test_never_more_workers_than_items_and_at_least_one() -> None:
    assert workers.worker_count(jobs=8, items=3) == 3
    assert workers.worker_count(items=0) == 1


def test_a_setting_that_is_no_number_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workers.WORKERS_ENV, "many")
    with pytest.raises(DrumgateError, match="DRUMGATE_WORKERS='many' is not a whole number"):
        workers.worker_count()


def test_available_cpus_honours_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity mask on this platform")
    assert workers.available_cpus() == len(os.sched_getaffinity(0))

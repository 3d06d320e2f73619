"""A count too large for JSON's exact integers (above 2**53 - 1) in a report is one line, exit 2.

Found by the artifact fuzz: `1.8446744073709552e+19` is a whole number, so JSON Schema's
`integer` accepted it, and writing the diff then failed inside orjson (exit 3). Every integer in
drumgate's artifact schemas now has an upper bound.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drumgate import cli
from drumgate.io.jsonio import write_json
from tests.diff_fixtures import health_report, make_workspace

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize("command", ["diff", "compare"])
def test_an_oversized_count_is_refused_in_one_line(tmp_path: Path, monkeypatch, capsys, command: str) -> None:
    root = make_workspace(tmp_path / "ws")
    monkeypatch.chdir(root)
    base = health_report()
    head = health_report("cambridge" if command == "compare" else "musdb_hq")
    head["classes"]["kick"] = 1.8446744073709552e19
    write_json(root / "reports" / "health" / "musdb_hq_20250301.json", base)
    other = "cambridge_20250302.json" if command == "compare" else "musdb_hq_20250302.json"
    write_json(root / "reports" / "health" / other, head)
    code = cli.main([command, "reports/health/musdb_hq_20250301.json", f"reports/health/{other}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "greater than the maximum" in err[0] and other in err[0]

"""`drumgate --help` and every hook start without the heavy libraries (their import time is the
start-up cost a commit pays); timings live in benchmarks/bench_cold_start.py, never here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hooks_support import make_workspace, write_group

# each costs 50 ms to seconds to import; none is needed to print help or to judge a small commit
HEAVY = ("librosa", "scipy", "numpy", "numba", "duckdb", "jsonschema", "deepdiff", "jinja2", "pandas", "soundfile",
         "mido", "tqdm")
PROBE = """
import json, sys
from drumgate import cli
try:
    code = cli.main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
print("\\nLOADED " + json.dumps({{"code": code, "heavy": heavy}}))
"""


def run_probe(args: list[str], cwd: Path) -> dict[str, object]:
    """Run the CLI in a fresh interpreter and report its exit code and the heavy modules it loaded."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=cwd, capture_output=True,
                          text=True, check=False, timeout=120)
    marker = [line for line in done.stdout.splitlines() if line.startswith("LOADED ")]
    assert marker, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(marker[-1].removeprefix("LOADED "))


def test_importing_the_cli_and_printing_help_loads_no_heavy_library(tmp_path: Path) -> None:
    result = run_probe(["--help"], tmp_path)
    assert result == {"code": 0, "heavy": []}
    assert run_probe(["hook", "--help"], tmp_path) == {"code": 0, "heavy": []}


@pytest.fixture
def staged_group(tmp_path: Path) -> Path:
    """A workspace holding one sound egmd artifact group, staged in git as a commit would be."""
    ws = make_workspace(tmp_path / "repo")
    write_group(ws)
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=ws.root, check=True, capture_output=True)
    return ws.root


HOOK_INPUTS = {
    "schema": ["data/manifests/egmd_events.jsonl", "data/provenance/egmd_provenance.jsonl"],
    "taxonomy": ["data/manifests/egmd_events.jsonl"],
    "checksums": ["data/archives/checksums/egmd.sha256", "data/provenance/egmd_provenance.jsonl"],
    "freshness": [],
    "licences": ["data/manifests/egmd_events.jsonl", "data/licenses/egmd.md"],
}


@pytest.mark.parametrize("hook", sorted(HOOK_INPUTS))
def test_every_hook_judges_a_sound_commit_without_heavy_libraries(staged_group: Path, hook: str) -> None:
    result = run_probe(["hook", hook, *HOOK_INPUTS[hook]], staged_group)
    assert result == {"code": 0, "heavy": []}


def test_a_schema_finding_still_names_its_json_path_with_the_reference_validator(staged_group: Path) -> None:
    manifest = staged_group / "data/manifests/egmd_events.jsonl"
    rows = manifest.read_text().splitlines()
    rows[1] = rows[1].replace('"velocity":90', '"velocity":"loud"')
    manifest.write_text("\n".join(rows) + "\n")
    done = subprocess.run([sys.executable, "-m", "drumgate.cli", "hook", "schema", str(manifest)], cwd=staged_group,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 1
    assert "egmd_events.jsonl:2: $.velocity" in done.stdout + done.stderr


def test_the_shipped_drum_templates_equal_a_fresh_render() -> None:
    from drumgate.io.jsonio import read_json
    from drumgate.signal import transcribe

    key = transcribe._spectrogram_key(transcribe.TranscribeParams())
    shipped = read_json(transcribe.SHIPPED_TEMPLATES)
    fresh = transcribe._generated_templates.__wrapped__(key)
    assert {name: shipped["templates"][name] for name in transcribe.TEMPLATE_CLASSES} == dict(
        zip(transcribe.TEMPLATE_CLASSES, (list(values) for values in fresh), strict=True)
    ), "stale: rewrite with save_templates(SHIPPED_TEMPLATES)"
    assert {k: v for k, v in shipped.items() if k != "templates"} == transcribe._render_settings(key)


def test_default_templates_come_from_the_shipped_file_without_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    from drumgate.signal import transcribe

    def no_render(key: object) -> None:
        raise AssertionError(f"rendered templates for {key}")

    monkeypatch.setattr(transcribe, "_generated_templates", no_render)
    templates = transcribe.drum_templates()
    assert list(templates) == list(transcribe.TEMPLATE_CLASSES)
    assert all(abs(sum(values) - 1.0) < 1e-9 for values in templates.values())
    with pytest.raises(AssertionError, match="rendered templates"):
        transcribe.drum_templates(transcribe.TranscribeParams(n_mels=32))


TRANSCRIBE_PROBE = """
import json, sys
from drumgate.signal import transcribe
from drumgate.fixtures import synth
audio = synth.render([synth.Hit(0.1, "kick", 120), synth.Hit(0.6, "snare", 110)], 1.0, sr=22050, seed=0)
labels = sorted({hit.label for hit in transcribe.transcribe(audio, 22050, (0.1, 0.6)).hits})
print(json.dumps({"labels": labels, "loaded": [name for name in ("librosa", "numba") if name in sys.modules]}))
"""


def test_transcribing_loads_neither_librosa_nor_numba(tmp_path: Path) -> None:
    """librosa's first import compiles numba kernels for about 15 s on a fresh install (issue 18):
    the transcriber's spectrogram and peak picker are numpy (drumgate.signal.spectral)."""
    done = subprocess.run([sys.executable, "-c", TRANSCRIBE_PROBE], cwd=tmp_path, capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"kick", "snare"} <= set(result["labels"])
    assert result["loaded"] == []

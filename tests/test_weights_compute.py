"""Sampling weights: schemes, quotas, normalisation, rounding, determinism, class mass, CLI."""

from __future__ import annotations

import math
import shlex

import jsonschema
import pytest

from drumgate.cli import weights as weights_cmd
from drumgate.errors import DrumgateError
from drumgate.fixtures.health_events import event, event_rows, numbered, session_rows
from drumgate.io.jsonio import read_json, write_jsonl
from drumgate.lineage import read_lock
from drumgate.reports.weights import class_weights, compute_weights, round_to_units
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import COMBINED, Workspace


def _rows() -> list[dict]:
    rows = [event("common", "kick", item_id=f"c{i % 2}", index=i) for i in range(90)]
    rows += [event("mixed", "kick", item_id="m0", index=i) for i in range(9)]
    rows += [event("mixed", "ride", item_id="m1", index=i) for i in range(1)]
    rows += [event("rare", "rd", item_id="r0", index=i) for i in range(9)]
    return rows


def _units(weights: dict[str, float]) -> int:
    return sum(round(w * 10**12) for w in weights.values())


@pytest.mark.parametrize("scheme", ["uniform", "inverse", "sqrt", "effective"])
def test_weights_sum_to_one_validate_and_are_deterministic(workspace: Workspace, scheme: str) -> None:
    taxonomy = load_taxonomy(workspace)
    first = compute_weights(taxonomy, "egmd", numbered(_rows()), scheme=scheme, beta=0.99)
    second = compute_weights(taxonomy, "egmd", numbered(list(reversed(_rows()))), scheme=scheme, beta=0.99)
    assert first == second
    assert _units(first["weights"]) == 10**12
    assert math.isclose(sum(first["weights"].values()), 1.0, abs_tol=1e-9)
    assert math.isclose(sum(first["class_mass"].values()), 1.0, abs_tol=1e-9)
    assert first["sessions"] == 3
    assert scheme in first["description"] or scheme == "sqrt"
    schema = read_json(workspace.schemas / "weights.schema.json")
    jsonschema.Draft202012Validator(schema).validate(first)


def test_uniform_scheme_with_equal_quota_gives_equal_sessions(workspace: Workspace) -> None:
    doc = compute_weights(load_taxonomy(workspace), "egmd", numbered(_rows()), scheme="uniform")
    assert doc["weights"] == {"common": 0.333333333334, "mixed": 0.333333333333, "rare": 0.333333333333}
    assert doc["class_mass"] == {"kick": 0.633333333334, "ride": 0.366666666666}


def test_inverse_scheme_favours_the_rare_class_exactly(workspace: Workspace) -> None:
    doc = compute_weights(load_taxonomy(workspace), "egmd", numbered(_rows()), scheme="inverse")
    # n_kick = 99, n_ride = 10 -> w ~ (1/99, 1/10) scaled to sum 2.
    w_kick = (1 / 99) * 2 / (1 / 99 + 1 / 10)
    w_ride = (1 / 10) * 2 / (1 / 99 + 1 / 10)
    raw = {"common": w_kick, "mixed": (w_kick + w_ride) / 2, "rare": w_ride}
    total = sum(raw.values())
    for session_id, value in raw.items():
        assert math.isclose(doc["weights"][session_id], value / total, abs_tol=1e-12)
    assert doc["class_weights"] == {"kick": round(w_kick, 12), "ride": round(w_ride, 12)}
    assert doc["weights"]["rare"] > doc["weights"]["mixed"] > doc["weights"]["common"]


def test_effective_number_goes_from_uniform_to_inverse_with_beta() -> None:
    counts = {"kick": 1000, "ride": 10}
    assert class_weights(counts, "effective", 0.0) == {"kick": 1.0, "ride": 1.0}
    near_inverse = class_weights(counts, "effective", 0.999999)
    inverse = class_weights(counts, "inverse", 0.0)
    assert math.isclose(near_inverse["ride"], inverse["ride"], rel_tol=1e-3)
    beta = 0.99
    expected = {name: (1 - beta) / (1 - beta**n) for name, n in counts.items()}
    scale = 2 / sum(expected.values())
    got = class_weights(counts, "effective", beta)
    assert all(math.isclose(got[name], expected[name] * scale) for name in counts)


def test_round_to_units_breaks_ties_by_key() -> None:
    rounded = round_to_units({"b": 1.0, "a": 1.0, "c": 1.0})
    assert rounded == {"a": 0.333333333334, "b": 0.333333333333, "c": 0.333333333333}


def test_sqrt_duration_quota_uses_session_seconds(workspace: Workspace) -> None:
    rows = [event("short", "kick"), event("long", "kick")]
    sessions = [{"session_id": "short", "seconds": 100.0}, {"session_id": "long", "seconds": 400.0}]
    taxonomy = load_taxonomy(workspace)
    doc = compute_weights(taxonomy, "egmd", numbered(rows), sessions, scheme="uniform", quota="sqrt_duration")
    assert doc["weights"] == {"long": 0.666666666667, "short": 0.333333333333}
    with pytest.raises(DrumgateError, match="needs each session's seconds"):
        compute_weights(load_taxonomy(workspace), "egmd", numbered(rows), None, scheme="uniform", quota="sqrt_duration")


def test_bad_beta_and_malformed_rows(workspace: Workspace) -> None:
    with pytest.raises(DrumgateError, match="must be in"):
        compute_weights(load_taxonomy(workspace), "egmd", numbered(_rows()), scheme="effective", beta=1.0)
    rows = _rows()
    del rows[3]["item_id"]
    with pytest.raises(DrumgateError) as caught:
        compute_weights(load_taxonomy(workspace), "egmd", numbered(rows), scheme="uniform")
    assert caught.value.line == 4


def test_cli_writes_default_output_with_lineage(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    rows = list(event_rows(2000, sessions=12, seed=5))
    write_jsonl(workspace.events_manifest("egmd"), rows)
    write_jsonl(workspace.sessions_manifest("egmd"), session_rows(12, seed=5))
    argv = [
        "--events",
        "data/manifests/egmd_events.jsonl",
        "--group-by",
        "session_id",
        "--scheme",
        "effective",
        "--beta",
        "0.99",
        "--quota",
        "sqrt_duration",
        "--date",
        "2024-05-01",
    ]
    assert weights_cmd.main(argv) == 0
    out = workspace.weights_report("egmd", "20240501")
    first = out.read_bytes()
    assert weights_cmd.main(argv) == 0
    assert out.read_bytes() == first
    doc = read_json(out)
    assert doc["parameters"] == {"beta": 0.99, "quota": "sqrt_duration", "rarity": "mean_class_weight_per_excerpt",
                                 "split": "train"}
    trained = {row["session_id"] for row in rows if row["split"] == "train"}
    assert doc["sessions"] == len(trained) == len(doc["weights"]) and 0 < len(trained) < 12
    entry = read_lock(workspace, "egmd")["artifacts"]["reports/sampling/egmd_weights_20240501.json"]
    assert entry["command"] == (
        "drumgate weights --events data/manifests/egmd_events.jsonl --group-by session_id --scheme effective "
        "--beta 0.99 --quota sqrt_duration --dataset egmd --sessions data/manifests/egmd_sessions.jsonl "
        "--output reports/sampling/egmd_weights_20240501.json --date 2024-05-01"
    )
    assert f"{len(trained)} train sessions weighted" in capsys.readouterr().out


def test_cli_malformed_row_gives_path_line(workspace: Workspace, capsys: pytest.CaptureFixture) -> None:
    path = workspace.events_manifest("egmd")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"session_id": "a", "item_id": "x", "label": "kick"}\n[1, 2]\n', encoding="utf-8")
    code = weights_cmd.main(["--events", str(path), "--scheme", "uniform", "--date", "2024-05-01"])
    assert code == 2
    # the absolute path typed is shown from the folder the command runs in (the workspace here)
    assert "data/manifests/egmd_events.jsonl:2: each line must be a JSON object" in capsys.readouterr().err
    assert not workspace.weights_report("egmd", "20240501").exists()


def test_only_the_train_split_is_weighted_and_counted(workspace: Workspace) -> None:
    """domain.md §6: the weights are for the training sampler only. They were spread over validation and
    test sessions too (0.21 of the combined mass on one real corpus), and those splits' events counted
    toward each class's rarity."""
    taxonomy = load_taxonomy(workspace)
    train = [event("t1", "kick", index=i) for i in range(20)] + [event("t2", "snare", index=i) for i in range(20)]
    held_out = [{**event("v1", "snare", index=i), "split": "validation"} for i in range(60)]
    held_out += [{**event("x1", "ride", index=i), "split": "test"} for i in range(3)]
    doc = compute_weights(taxonomy, "egmd", numbered(train + held_out), scheme="inverse")
    assert doc == compute_weights(taxonomy, "egmd", numbered(train), scheme="inverse"), "held-out rows change nothing"
    assert set(doc["weights"]) == {"t1", "t2"} and doc["weights"]["t1"] == doc["weights"]["t2"] == 0.5
    assert set(doc["class_weights"]) == {"kick", "snare"}, "a class seen only in test is no training class"


def test_a_label_the_taxonomy_does_not_know_is_not_weighted_and_is_a_finding(workspace: Workspace, capsys) -> None:
    """A hand-typed `kik` counted as a class of its own: it got class weight 4.32, more than the four real
    classes together, and `weights` exited 0 without a word."""
    rows = [event("s1", "kick", index=i) for i in range(20)] + [event("s2", "snare", index=i) for i in range(20)]
    write_jsonl(workspace.events_manifest("egmd"), [*rows, event("s2", "kik", index=99)])
    argv = ["--events", "data/manifests/egmd_events.jsonl", "--scheme", "inverse", "--date", "2024-05-01"]
    assert weights_cmd.main(argv) == 1
    assert capsys.readouterr().err.strip() == (
        "data/manifests/egmd_events.jsonl: 1 event labelled 'kik', which the taxonomy does not know: not weighted"
        " (fix: drumgate repro egmd, which makes the events again, or add the label to"
        " configs/technique_taxonomy.json)")
    doc = read_json(workspace.weights_report("egmd", "20240501"))
    expected = compute_weights(load_taxonomy(workspace), "egmd", numbered(rows), scheme="inverse")
    assert doc["weights"] == expected["weights"] and "kik" not in doc["class_weights"]


def test_a_class_is_weighed_at_the_level_every_source_can_say(workspace: Workspace) -> None:
    """MUSDB's pseudo-labels say `cymbal` where E-GMD says `crash` and `ride` (children of `cymbal`): counted
    apart, a few `cymbal` hits were the rarest class, and one 7-second clip drew 31% of the combined
    sampling. A class whose ancestor is also a class of the events is counted as that ancestor."""
    taxonomy = load_taxonomy(workspace)
    rows = [event("egmd_take", label, index=i) for i, label in enumerate(["crash", "ride", "kick", "snare"] * 10)]
    rows += [event("musdb_clip", label, index=i) for i, label in enumerate(["cymbal", "kick", "snare"] + ["kick"] * 7)]
    doc = compute_weights(taxonomy, COMBINED, numbered(rows), scheme="inverse")
    assert doc["parameters"]["rolled_up"] == {"crash": "cymbal", "ride": "cymbal"}
    assert set(doc["class_weights"]) == {"cymbal", "kick", "snare"} == set(doc["class_mass"])
    assert doc["weights"]["musdb_clip"] < doc["weights"]["egmd_take"], "the clip's one cymbal is no rarity"
    fine = compute_weights(taxonomy, COMBINED, numbered(rows[:40]), scheme="inverse")
    assert "rolled_up" not in fine["parameters"] and {"crash", "ride"} <= set(fine["class_weights"])


def test_a_session_whose_audio_is_missing_or_unreadable_is_not_weighted(workspace: Workspace) -> None:
    """All 54 real E-GMD sessions of a MIDI-only copy are `missing_audio`, and a Cambridge session with a
    truncated stem is `unreadable`: weighted, a sampler would draw audio it cannot load. A session on an
    offline tier is only unplugged: it keeps its weight (weights must not follow which disks are mounted)."""
    taxonomy = load_taxonomy(workspace)
    rows = [event(sid, label, index=i) for sid in ("ok", "gone", "broken", "offline") for i, label in
            enumerate(["kick", "snare"] * 5)]
    statuses = {"ok": "ok", "gone": "missing_audio", "broken": "unreadable", "offline": "tier_offline"}
    sessions = [{"session_id": sid, "status": status, "seconds": 10.0} for sid, status in statuses.items()]
    doc = compute_weights(taxonomy, "egmd", numbered(rows), iter(sessions), scheme="inverse", quota="sqrt_duration")
    assert doc["weights"] == {"offline": 0.5, "ok": 0.5} and doc["sessions"] == 2


def test_a_sessions_row_of_the_wrong_shape_does_not_stop_the_weights(workspace: Workspace) -> None:
    """pr-report hands the sessions rows of a revision over unchecked: a `status` written as a list made it
    exit 3 (an unhashable set lookup); the sessions check words such a row."""
    rows = [event("s1", "kick", index=i) for i in range(4)]
    sessions = [{"session_id": "s1", "status": ["missing_audio"]}, {"session_id": ["s2"], "status": "unreadable"}]
    doc = compute_weights(load_taxonomy(workspace), "egmd", numbered(rows), sessions, scheme="uniform")
    assert doc["weights"] == {"s1": 1.0}


def test_a_file_whose_name_says_no_dataset_is_refused_with_the_typed_command_plus_dataset(
    workspace: Workspace, tmp_path, capsys
) -> None:
    """`weights` said "name it <ds>_events.jsonl or pass --dataset", with no command to run."""
    events = tmp_path / "all.jsonl"
    write_jsonl(events, [event("s1", "kick", index=i) for i in range(4)])
    typed = ["weights", "--events", str(events), "--date", "2024-05-01"]
    assert weights_cmd.main(typed[1:]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{events}: cannot tell the dataset from the file name (fix: drumgate weights"), err
    fix = shlex.split(err.split("(fix: ", 1)[1].removesuffix(")"))
    assert fix[-2:] == ["--dataset", "egmd"] and fix[:4] == ["drumgate", "weights", "--events", str(events)], fix
    assert fix[-4:-2] == ["--output", str(tmp_path / "all_weights_20240501.json")], fix  # outside, as its input
    assert weights_cmd.main(fix[2:]) == 0, capsys.readouterr().err
    assert read_json(tmp_path / "all_weights_20240501.json")["weights"] == {"s1": 1.0}
    assert not workspace.weights_report("egmd", "20240501").exists()

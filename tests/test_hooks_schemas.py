"""The compiled fast path and the reference Draft202012Validator agree; the draft-07 translation is exact."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drumgate.artifacts import classify
from drumgate.schemas import RowValidator, schema_name_for, validator_for
from drumgate.workspace import PACKAGE_ROOT, Workspace
from tests.hooks_support import crash_event, event

WS = Workspace(PACKAGE_ROOT)
EVENTS = validator_for(WS, "events")

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-300, 300), st.floats(-2, 200, allow_nan=False), st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["file", "note", "stem", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def agree(validator: RowValidator, row: object) -> bool:
    return validator.fast_accepts(row) == (not validator.reference_issues(row))


@settings(max_examples=400, deadline=None)
@given(key=st.sampled_from([*sorted(event()), "variant", "attributes", "extra"]), value=json_values)
def test_fast_and_reference_agree_on_mutated_events(key, value):
    row = event(1)
    row[key] = value
    assert agree(EVENTS, row)


@settings(max_examples=200, deadline=None)
@given(drop=st.sampled_from(sorted(event())))
def test_fast_and_reference_agree_on_missing_fields(drop):
    row = event(1)
    del row[drop]
    assert not EVENTS.fast_accepts(row)
    assert EVENTS.reference_issues(row)[0].message == f"{drop!r} is a required property"


def test_known_edge_cases_agree():
    cases = [
        event(0),
        crash_event(1),
        event(2, velocity=None),
        event(3, velocity=64.0),
        event(4, velocity=True),
        event(5, techniques=["ghost", "ghost"]),
        event(6, labels=["a", "b", "c"]),
        event(7, confidence=1.5),
        event(8, source={"file": "f", "note": 128}),
        event(9, attributes={"openness": 0.4}),
    ]
    verdicts = [EVENTS.fast_accepts(row) for row in cases]
    assert verdicts == [True, True, True, False, False, False, False, False, False, True]
    assert all(agree(EVENTS, row) for row in cases)


@pytest.mark.parametrize("name", ["events", "sessions", "provenance", "lock", "health", "weights", "diff"])
def test_every_artifact_schema_compiles_to_the_fast_path(name):
    validator = validator_for(WS, name)
    assert validator.fast is not None
    assert agree(validator, {}) and agree(validator, {"schema_version": 1})


@pytest.mark.parametrize(
    ("schema", "rows"),
    [
        (
            {"$defs": {"pos": {"minimum": 0}}, "properties": {"n": {"$ref": "#/$defs/pos", "type": "integer"}}},
            ({"n": 1}, {"n": -1}, {"n": 1.5}, {"n": "x"}),
        ),
        (
            {
                "prefixItems": [{"type": "string"}, {"type": "integer"}],
                "items": {"type": "boolean"},
                "dependentRequired": {"a": ["b"]},
                "dependentSchemas": {"c": {"required": ["d"]}},
                "format": "date",
            },
            (["x", 1, True], ["x", "y"], ["x", 1, 2], {"a": 1}, {"a": 1, "b": 2}, {"c": 1}, "not-a-date"),
        ),
        (
            {"properties": {"a": {"type": "integer"}}, "unevaluatedProperties": False},
            ({"a": 1}, {"a": 1, "b": 2}),
        ),
    ],
)
def test_fast_path_agrees_with_reference_on_2020_12_keywords(schema, rows):
    validator = RowValidator("t", copy.deepcopy(schema))
    for row in rows:
        assert agree(validator, row), row


def test_unevaluated_properties_error_names_the_property():
    validator = RowValidator("t", {"properties": {"a": {"type": "integer"}}, "unevaluatedProperties": False})
    assert validator.issues({"a": 1}) == []
    assert "Unevaluated properties" in validator.issues({"a": 1, "b": 2})[0].message


def test_fast_path_never_fills_defaults():
    validator = RowValidator("t", {"properties": {"a": {"default": 5}}})
    row: dict = {}
    assert validator.fast_accepts(row) and row == {}


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("data/manifests/egmd_events.jsonl", "events"),
        ("data/manifests/musdb_hq_events.jsonl.gz", "events"),
        ("data/manifests/cambridge_sessions.jsonl", "sessions"),
        ("data/manifests/cambridge_sessions_dryrun.jsonl", "sessions"),
        ("data/provenance/egmd_provenance.jsonl", "provenance"),
        ("reports/health/musdb_hq_20240101.json", "health"),
        ("reports/health/prod_combined_health_20240101.json", "health"),
        ("reports/sampling/egmd_weights_20240101.json", "weights"),
        ("reports/sampling/prod_combined_weights.json", "weights"),
        ("reports/diffs/musdb_hq_20240101_to_20240201.json", "diff"),
        ("data/locks/egmd.lock.json", "lock"),
        ("reports/health/egmd_20240101.html", None),
        ("data/archives/checksums/egmd.sha256", None),
        ("README.md", None),
    ],
)
def test_schema_chosen_by_path(path, schema):
    assert schema_name_for(path) == schema


def test_groups_from_paths():
    assert classify("reports/diffs/musdb_hq_20240101_to_20240201.json").group == "musdb_hq"
    assert classify("reports/health/prod_combined_health_20240101.json").group == "prod_combined"
    assert classify("data/manifests/prod_combined_events.jsonl").group == "prod_combined"

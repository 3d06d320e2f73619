"""Hypothesis: taxonomy lookups and the licence-note parser accept any string without crashing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumgate.errors import DrumgateError
from drumgate.licences import REQUIRED_KEYS, parse_licence_note, read_licence_note
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from tests.conftest import PROJECT_ROOT

SETTINGS = settings(
    max_examples=200, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
TAXONOMY = load_taxonomy(Workspace(PROJECT_ROOT))
KNOWN_NAMES = sorted({*TAXONOMY.classes, *TAXONOMY.techniques, *TAXONOMY.vocabularies, "Hi-Hat", " KICK ", "crash-1"})
names = st.one_of(st.text(max_size=30), st.sampled_from(KNOWN_NAMES))


@SETTINGS
@given(name=names)
def test_resolve_is_total_and_idempotent(name: str) -> None:
    for resolve in (TAXONOMY.resolve_class, TAXONOMY.resolve_technique):
        resolved = resolve(name)
        if resolved is not None:
            assert resolve(resolved) == resolved


@SETTINGS
@given(name=names, technique=names)
def test_class_predicates_never_raise(name: str, technique: str) -> None:
    assert isinstance(TAXONOMY.is_crash_family(name), bool)
    assert isinstance(TAXONOMY.technique_allowed(technique, name), bool)
    assert TAXONOMY.crash_labels(name) is None or name in TAXONOMY.crash_map


@SETTINGS
@given(vocabulary=names, class_id=names, techniques=st.lists(names, max_size=5))
def test_to_vocabulary_gives_a_vocabulary_label_none_or_drumgate_error(
    vocabulary: str, class_id: str, techniques: list[str]
) -> None:
    try:
        label = TAXONOMY.to_vocabulary(vocabulary, class_id, techniques)
    except DrumgateError as err:
        assert vocabulary not in TAXONOMY.vocabularies
        assert "unknown vocabulary" in str(err)
        return
    assert label is None or label in TAXONOMY.vocabularies[vocabulary].labels
    assert TAXONOMY.to_vocabulary(vocabulary, class_id, iter(techniques)) == label


@SETTINGS
@given(vocabulary=st.sampled_from(sorted(TAXONOMY.vocabularies)), class_id=st.sampled_from(sorted(TAXONOMY.classes)))
def test_every_class_reduces_the_same_way_twice(vocabulary: str, class_id: str) -> None:
    assert TAXONOMY.to_vocabulary(vocabulary, class_id) == TAXONOMY.to_vocabulary(vocabulary, class_id, ())


front_matter_line = st.one_of(
    st.text(max_size=40).filter(lambda s: "\n" not in s and "\r" not in s),
    st.sampled_from([f"{key}: value" for key in REQUIRED_KEYS] + ["---", "# note", "", "novalue", ": x", "a:b:c"]),
)


@SETTINGS
@given(text=st.text(max_size=300))
def test_licence_parser_on_any_text(text: str) -> None:
    try:
        note = parse_licence_note(text, Path("data/licenses/x.md"))
    except DrumgateError as err:
        assert str(err).startswith("data/licenses/x.md")
    else:
        assert all(isinstance(value, str) for value in note.fields.values())
        assert set(note.missing) <= set(REQUIRED_KEYS)


@SETTINGS
@given(lines=st.lists(front_matter_line, max_size=10), closed=st.booleans())
def test_licence_parser_on_front_matter_shapes(lines: list[str], closed: bool) -> None:
    text = "\n".join(["---", *lines, *(["---", "body"] if closed else [])])
    try:
        note = parse_licence_note(text, Path("n.md"))
    except DrumgateError as err:
        assert "\n" not in str(err)
    else:
        assert note.complete == (not note.missing)


@SETTINGS
@given(payload=st.binary(max_size=200))
def test_licence_file_with_any_bytes(tmp_path: Path, payload: bytes) -> None:
    target = tmp_path / "x.md"
    target.write_bytes(payload)
    try:
        read_licence_note(target)
    except DrumgateError as err:
        assert str(err).startswith(str(target))


@pytest.mark.parametrize("make", ["folder", "missing", "unreadable"])
def test_licence_file_system_cases(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x.md"
    if make == "folder":
        target.mkdir()
    elif make == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads mode-0 files")
        target.write_text("---\n---\n")
        target.chmod(0)
    with pytest.raises(DrumgateError):
        read_licence_note(target)

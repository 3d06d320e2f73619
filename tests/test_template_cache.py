"""Compiled templates kept between runs: taken back only from drumgate's private folder, compiled again
for anything it cannot trust or read, and the page is the same either way."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from drumgate.fixtures.health_events import event, numbered
from drumgate.io import statcache
from drumgate.render import html_report, markdown, template_cache
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.workspace import Workspace


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / template_cache.FOLDER


def _page(workspace: Workspace) -> str:
    rows = [event("s1", "kick", index=i) for i in range(4)] + [event("s2", "snare")]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows))
    template = html_report._environment().get_template("health.html.j2")
    return template.render(**html_report.health_context(report, "2024-05-01"))


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the template was compiled, not taken from the cache")

    monkeypatch.setattr(jinja2.Environment, "compile", refuse)


def test_a_second_environment_takes_the_compiled_page_back(
    workspace: Workspace, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _page(workspace)
    kept = list(cache_dir.glob("__jinja2_*.cache"))
    assert len(kept) == 1
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    _no_compiling(monkeypatch)
    assert _page(workspace) == first


def test_a_cut_or_foreign_file_is_compiled_again(workspace: Workspace, cache_dir: Path) -> None:
    first = _page(workspace)
    (kept,) = cache_dir.glob("__jinja2_*.cache")
    for content in (kept.read_bytes()[:40], b"not a cache at all", b""):
        kept.write_bytes(content)
        assert _page(workspace) == first
    assert kept.stat().st_size > 100, "written again once compiled"


def test_a_folder_others_may_write_to_is_not_used(
    workspace: Workspace, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _page(workspace)
    os.chmod(cache_dir, 0o777)
    assert template_cache.bytecode_cache() is None
    with monkeypatch.context() as refusing:
        _no_compiling(refusing)
        with pytest.raises(AssertionError, match="compiled"):
            _page(workspace)  # what it holds is not taken back
    assert _page(workspace) == first
    os.chmod(cache_dir, 0o700)
    with monkeypatch.context() as refusing:
        _no_compiling(refusing)
        assert _page(workspace) == first



@pytest.mark.parametrize(("mode", "used"), [(0o777, False), (0o1777, True), (0o755, True)])
def test_a_folder_below_one_others_may_write_to_is_used_only_when_sticky(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int, used: bool
) -> None:
    """In a shared folder without the sticky bit, anyone may rename the private folder and put their
    own in its place after the check; /tmp's sticky bit forbids that."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(shared / "mine" / "cache"))
    assert (template_cache.bytecode_cache() is not None) is used
    if not used:
        with pytest.raises(PermissionError, match=r"another user may rename it \(.*shared is not"):
            statcache.private_folder(shared / "mine" / "memo")


@pytest.mark.parametrize("setting", ["finalize", "autoescape", "trim_blocks", "filter"])
def test_another_environment_setting_compiles_again(tmp_path: Path, cache_dir: Path, setting: str) -> None:
    """The settings are compiled into the code: a template kept under one must not serve another."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f.j2").write_text("{% if v %}\nv={{ v }} {{ 'k' | shout }}\n{% endif %}\n", encoding="utf-8")

    def render(**changes: object) -> str:
        options: dict = {"loader": jinja2.FileSystemLoader(str(tmp_path / "t")), "autoescape": False,
                         "bytecode_cache": template_cache.bytecode_cache()}
        shout = changes.pop("shout", str.upper)
        environment = jinja2.Environment(**{**options, **changes})
        environment.filters["shout"] = shout
        return environment.get_template("f.j2").render(v="<b>")

    plain = render()
    assert plain == "\nv=<b> K\n"
    changed = {"finalize": {"finalize": lambda value: "F"}, "autoescape": {"autoescape": True},
               "trim_blocks": {"trim_blocks": True}, "filter": {"shout": lambda value: value * 2}}[setting]
    settings = {key: value for key, value in changed.items() if key != "shout"}
    uncached = jinja2.Environment(**{"loader": jinja2.FileSystemLoader(str(tmp_path / "t")), "autoescape": False,
                                     **settings})
    uncached.filters["shout"] = changed.get("shout", str.upper)
    expected = uncached.get_template("f.j2").render(v="<b>")
    assert expected != plain
    assert render(**changed) == expected
    assert render() == plain, "the first setting's file is still there, under its own name"


def test_an_unwritable_cache_location_renders_all_the_same(workspace: Workspace, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(blocker))
    assert template_cache.bytecode_cache() is None
    assert "<html" in _page(workspace)


def test_markdown_templates_are_kept_too(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markdown.environment.cache_clear()
    try:
        markdown.environment().get_template("compare.md.j2")
        assert list(cache_dir.glob("__jinja2_*.cache"))
    finally:
        markdown.environment.cache_clear()

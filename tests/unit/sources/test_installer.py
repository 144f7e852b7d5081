"""The installer: parent before children, every failure collected, a failed component keeps its
earlier copy, the cache answers a repeat, on real local git repositories."""

from __future__ import annotations

from pathlib import Path

from fabrikate.settings import Settings
from fabrikate.sources.installer import install
from fabrikate.support.cache import Cache
from fabrikate.support.progress import Event
from tests.fixtures.trees import make_repo, write_tree


def _settings() -> Settings:
    return Settings(jobs=2, timeout=60)


def test_a_nested_tree_is_installed_parent_first_and_reported(tmp_path: Path) -> None:
    leaf = tmp_path / "leaf"
    leaf_sha = make_repo(leaf, {"component.yaml": "name: leaf\n"})
    middle = tmp_path / "middle"
    make_repo(
        middle,
        {
            "component.yaml": f"name: middle\nsubcomponents:\n- {{name: leaf, method: git, source: {leaf.as_uri()}}}\n"
        },
    )
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": f"""
                name: app
                subcomponents:
                - {{name: middle, method: git, source: {middle.as_uri()}}}
                """
        },
    )
    events: list[Event] = []
    result = install(root, _settings(), progress=events.append, cache=Cache(tmp_path / "c"))
    assert result.ok, result.failures
    assert [i.component for i in result.installed] == ["middle", "middle/leaf"]
    assert result.visited == ["app", "middle/middle", "middle/leaf/leaf"]  # a level at a time
    leaf_copy = root / "components" / "middle" / "components" / "leaf"
    assert (leaf_copy / "component.yaml").read_text() == "name: leaf\n"
    assert next(i for i in result.installed if i.component == "middle/leaf").detail == leaf_sha
    started = [e.component for e in events if e.state == "fetching"]
    assert started.index("middle") < started.index("middle/leaf")  # the parent first
    again = install(root, _settings(), cache=Cache(tmp_path / "c"))
    assert again.ok and again.changed == 0


def test_every_failure_is_collected_and_the_others_still_install(tmp_path: Path) -> None:
    good = tmp_path / "good"
    make_repo(good, {"component.yaml": "name: good\n"})
    root = write_tree(
        tmp_path / "hld",
        {
            "component.yaml": f"""
                name: app
                subcomponents:
                - {{name: good, method: git, source: {good.as_uri()}}}
                - {{name: gone, method: git, source: {(tmp_path / "gone").as_uri()}}}
                - {{name: bad-tag, method: git, source: {good.as_uri()}, version: v404}}
                """
        },
    )
    result = install(root, _settings(), cache=Cache(tmp_path / "c"))
    assert sorted(f.component or "" for f in result.failures) == ["bad-tag", "gone"]
    assert [i.component for i in result.installed] == ["good"]
    assert (root / "components" / "good" / "component.yaml").is_file()
    assert not (root / "components" / "gone").exists()

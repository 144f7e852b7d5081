"""The generator registry: one generator per component type, the render cache around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabrikate.errors import Diagnostic
from fabrikate.hld.resolve import ResolvedComponent, walk
from fabrikate.render.renderer import Renderer
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache

TREE = {
    "component.yaml": """
        name: app
        subcomponents:
        - name: files
          type: static
          path: m
        - name: chart
          type: helm
          path: c
    """,
    "m/a.yaml": "kind: A\n",
    "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    "c/templates/cm.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
}


def _nodes(root: Path) -> dict[str, ResolvedComponent]:
    return {node.id: node for node in walk(root, ()).components}  # ids: "app", "files"


def test_each_type_has_its_generator_and_a_container_none(tree) -> None:
    renderer = Renderer(Settings(), None)
    assert sorted(renderer.by_type) == ["helm", "static"]
    nodes = _nodes(tree(TREE))
    assert renderer.ready(nodes["app"]) and renderer.render(nodes["app"], []) == []
    assert renderer.render(nodes["files"], []) == ["kind: A\n"]


def test_static_output_is_never_cached(tree, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    renderer = Renderer(Settings(), cache)
    node = _nodes(tree(TREE))["files"]
    assert renderer.by_type["static"].key(node) is None
    assert not renderer.ready(node)
    assert renderer.render(node, []) == ["kind: A\n"]
    assert (renderer.hits, renderer.misses) == (0, 0)
    assert not [e for e in cache.entries() if e.kind == "render"]


@pytest.mark.helm
def test_helm_output_is_cached_under_its_key(tree, tmp_path: Path, helm: str) -> None:
    settings = Settings(helm=helm)
    cache = Cache(tmp_path / "cache")
    node = _nodes(tree(TREE))["chart"]
    first = Renderer(settings, cache)
    found: list[Diagnostic] = []
    documents = first.render(node, found)
    assert documents and "name: chart" in documents[0]
    assert (first.hits, first.misses) == (0, 1)
    again = Renderer(settings, cache)
    assert again.ready(node) and again.render(node, []) == documents
    assert (again.hits, again.misses) == (1, 0)
    key = again.by_type["helm"].key(node)
    assert key is not None and cache.has("render", key)

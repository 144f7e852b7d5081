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


Chart = tuple[Settings, Cache, ResolvedComponent]


@pytest.fixture
def chart(tree, tmp_path: Path, helm: str) -> Chart:
    """Settings with the suite's helm, an empty cache, and the tree's helm component."""
    return Settings(helm=helm), Cache(tmp_path / "cache"), _nodes(tree(TREE))["chart"]


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
def test_helm_output_is_cached_under_its_key(chart: Chart) -> None:
    settings, cache, node = chart
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


@pytest.mark.helm
def test_render_times_are_one_entry_read_by_the_next_run(chart: Chart) -> None:
    settings, cache, node = chart
    first = Renderer(settings, cache)
    guess = first.cost(node)  # nothing known yet: a guess from the chart's files
    first.render(node, [])
    first.remember()
    assert len([e for e in cache.entries() if e.kind == "timings"]) == 1
    again = Renderer(settings, cache)
    took = again.cost(node)
    assert took != guess and took > 0
    assert Renderer(settings, cache).cost(node) == took


@pytest.mark.helm
@pytest.mark.parametrize(
    "entry", ["not json", "[1, 2]", '{ID: "1"}', "{ID: NaN}", "{ID: -1}", "{ID: true}"]
)
def test_a_damaged_timings_entry_is_a_guess(chart: Chart, entry: str) -> None:
    from fabrikate.render.helm import TIMINGS_KEY, _timing_id

    settings, cache, node = chart
    guess = Renderer(settings, cache).cost(node)
    cache.put("timings", TIMINGS_KEY, entry.replace("ID", f'"{_timing_id(node)}"').encode())
    assert Renderer(settings, cache).cost(node) == guess
    cache.put("timings", TIMINGS_KEY, f'{{"{_timing_id(node)}": 7.5}}'.encode())
    assert Renderer(settings, cache).cost(node) == 7.5


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: 1\n---\nb: [1, 2\nc: 3\n", "line 4: 'c: 3'"),  # where libyaml gives up
        ("a: 1\nb: {unclosed\n", "line 2: 'b: {unclosed'"),  # at the end: the last line
        ("a: 1\n\tb: 2\n", "invalid YAML"),
        ("a: 1\x00\n", "a NUL byte for chart c, line 1"),
    ],
)
def test_helm_output_that_is_not_yaml_names_its_line(text: str, problem: str) -> None:
    from fabrikate.errors import ProcessError
    from fabrikate.render.helm import _check_manifests

    with pytest.raises(ProcessError, match="helm template printed") as info:
        _check_manifests(text, Path("c"))
    assert problem in str(info.value)


def test_helm_output_that_is_yaml_passes() -> None:
    from fabrikate.render.helm import _check_manifests

    _check_manifests("---\n# Source: c/templates/a.yaml\na: 1\n---\nb: [1, 2]\n", Path("c"))

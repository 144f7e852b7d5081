"""The render cache and incremental output never change what a full regeneration would write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fabrikate
from fabrikate.settings import Settings

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"

pytestmark = pytest.mark.helm


def make_tree(root: Path) -> Path:
    """Two helm components over a private chart copy, one static component, two envs."""
    shutil.copytree(CHARTS / "demo", root / "chart")
    (root / "static").mkdir(parents=True)
    (root / "static" / "a.yaml").write_text("kind: A\nmetadata:\n  name: a\n")
    (root / "component.yaml").write_text(
        "name: app\nsubcomponents:\n"
        "- name: one\n  type: helm\n  path: ./chart\n"
        "- name: two\n  type: helm\n  path: ./chart\n"
        "- name: files\n  type: static\n  path: ./static\n"
    )
    (root / "config").mkdir()
    write_config(root, "common", {"one": {"replicas": 1}, "two": {"replicas": 2}})
    write_config(root, "prod", {"one": {"image": "nginx:prod"}})
    return root


def write_config(root: Path, env: str, values: dict) -> None:
    subs = {name: {"config": config} for name, config in values.items()}
    subs["two"] = dict(subs.get("two", {}), namespace="two-ns", injectNamespace=True)
    (root / "config" / f"{env}.json").write_text(json.dumps({"subcomponents": subs}))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def full_regeneration(root: Path, dest: Path) -> dict[str, bytes]:
    fabrikate.generate(root, ["prod"], output=dest, settings=Settings.from_env(render_cache=False))
    return snapshot(dest)


EDITS = st.sampled_from(["value", "replicas", "template", "static-add", "static-del", "env"])


@settings(max_examples=12)
@given(st.lists(st.tuples(EDITS, st.integers(0, 9)), min_size=1, max_size=3))
def test_incremental_output_equals_full_regeneration(tmp_path_factory, edits) -> None:
    base = tmp_path_factory.mktemp("inc")
    root = make_tree(base / "hld")
    fabrikate.generate(root, ["prod"])
    for edit, n in edits:
        if edit == "value":
            write_config(root, "prod", {"one": {"echo": {"n": n}}})
        elif edit == "replicas":
            write_config(root, "common", {"one": {"replicas": n}, "two": {"replicas": n + 1}})
        elif edit == "template":
            (root / "chart" / "templates" / "extra.yaml").write_text(
                f"kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: extra-{n}\n"
            )
        elif edit == "static-add":
            (root / "static" / f"s{n}.yaml").write_text(f"kind: S\nmetadata:\n  name: s{n}\n")
        elif edit == "static-del":
            for path in sorted((root / "static").glob("s*.yaml"))[:1]:
                path.unlink()
        elif edit == "env":
            write_config(root, "prod", {"two": {"image": f"nginx:{n}"}})
        result = fabrikate.generate(root, ["prod"])
        assert snapshot(result.output) == full_regeneration(root, base / f"full-{edit}-{n}")


def test_cache_hits_when_nothing_changed_and_misses_on_change(tree) -> None:
    root = make_tree(tree({}).parent / "c")
    first = fabrikate.generate(root, ["prod"])
    assert (first.cache_hits, first.cache_misses) == (0, 2)
    second = fabrikate.generate(root, ["prod"])
    assert (second.cache_hits, second.cache_misses) == (2, 0)
    assert second.files.written == []
    write_config(root, "prod", {"one": {"image": "nginx:changed"}})
    third = fabrikate.generate(root, ["prod"])
    assert (third.cache_hits, third.cache_misses) == (1, 1)
    assert third.files.written == ["one.yaml"]
    (root / "chart" / "values.yaml").write_text("replicas: 9\nimage: x\necho: {}\nlist: []\n")
    fourth = fabrikate.generate(root, ["prod"])
    assert fourth.cache_misses == 2


def test_cache_can_be_turned_off(tree) -> None:
    root = make_tree(tree({}).parent / "d")
    off = Settings.from_env(render_cache=False)
    fabrikate.generate(root, ["prod"], settings=off)
    again = fabrikate.generate(root, ["prod"], settings=off)
    assert (again.cache_hits, again.cache_misses) == (0, 0)

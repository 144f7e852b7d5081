"""The render cache, incremental output and up-to-date checks never change what a full
regeneration would write."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import fabrikate
from fabrikate.cli.main import main
from fabrikate.records import open_store
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


EDITS = st.sampled_from(
    ["value", "replicas", "template", "static-add", "static-del", "env", "none", "output", "racy"]
)
INCREMENTAL = Settings.from_env(incremental=True)


def stuck_clock(path: Path, at: int) -> None:
    """Give ``path`` the mtime ``at`` whatever is written to it, as a file system whose clock
    has not ticked since would: every change then has to be noticed by its contents."""
    os.utime(path, ns=(at, at))


@settings(max_examples=15)
@given(st.lists(st.tuples(EDITS, st.integers(0, 9)), min_size=1, max_size=4))
def test_incremental_output_equals_full_regeneration(tmp_path_factory, edits) -> None:
    base = tmp_path_factory.mktemp("inc")
    root = make_tree(base / "hld")
    tick = time.time_ns() + 3600 * 10**9
    stuck_clock(root / "config" / "prod.json", tick)
    fabrikate.generate(root, ["prod"], settings=INCREMENTAL)
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
        elif edit == "output":
            (root / "generated" / "prod" / "one.yaml").write_text(f"tampered {n}\n")
        elif edit == "racy":  # rename a namespace, keeping the size
            path = root / "config" / "prod.json"
            text = path.read_text()
            old, new = ("two-ns", "two-nt") if "two-ns" in text else ("two-nt", "two-ns")
            path.write_text(text.replace(old, new))
        stuck_clock(root / "config" / "prod.json", tick)
        result = fabrikate.generate(root, ["prod"], settings=INCREMENTAL)
        assert snapshot(result.output) == full_regeneration(root, base / f"full-{edit}-{n}")
        if edit in ("output", "racy"):
            assert not result.up_to_date


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


def fab(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["generate", "-C", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_a_repeat_run_is_up_to_date_and_touches_nothing(tree) -> None:
    root = make_tree(tree({}).parent / "u")
    assert "wrote" in fab(root, "prod")
    out = root / "generated" / "prod"
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
    assert f"{out} is up to date: 4 files unchanged" in fab(root, "prod")
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()} == before
    assert "wrote" in fab(root, "prod", "--force")
    assert "wrote" in fab(root, "prod", "--no-cache")
    validated = CliRunner().invoke(main, ["generate", "-C", str(root), "prod", "--validate"])
    assert "wrote" in validated.stderr  # then the objects are checked (the test's are invalid)
    assert "wrote" in fab(root, "dev")  # another environment: its own stamp
    assert "up to date" in fab(root, "prod")  # and its output is not an input of prod
    assert "wrote" in fab(root, "prod", "--strict")  # a setting that can change the outcome


def test_the_library_checks_only_when_asked(tree) -> None:
    root = make_tree(tree({}).parent / "l")
    fabrikate.generate(root, ["prod"], settings=INCREMENTAL)
    again = fabrikate.generate(root, ["prod"])
    assert not again.up_to_date and len(again.components) == 4
    skipped = fabrikate.generate(root, ["prod"], settings=INCREMENTAL)
    assert skipped.up_to_date and skipped.components == []
    assert skipped.files.unchanged == ["app.yaml", "files.yaml", "one.yaml", "two.yaml"]


def test_up_to_date_runs_repeat_the_warnings(tree) -> None:
    root = make_tree(tree({}).parent / "w")
    (root / "component.yaml").write_text((root / "component.yaml").read_text() + "colour: blue\n")
    first = fab(root, "prod")
    second = fab(root, "prod")
    assert "up to date" in second
    warning = next(line for line in first.splitlines() if "colour" in line)
    assert warning in second.splitlines()


def test_a_new_helm_binary_renders_again(tree, helm: str, tmp_path: Path, monkeypatch) -> None:
    root = make_tree(tree({}).parent / "h")
    fab(root, "prod")
    other = tmp_path / "bin" / "helm"
    other.parent.mkdir()
    other.symlink_to(helm)
    monkeypatch.setenv("FAB_HELM", str(other))
    assert "wrote" in fab(root, "prod")
    assert "up to date" in fab(root, "prod")


def test_generate_hooks_run_every_time(tree) -> None:
    root = make_tree(tree({}).parent / "k")
    (root / "component.yaml").write_text(
        (root / "component.yaml").read_text()
        + "hooks:\n  before-generate:\n  - echo ran >> ../hook.log\n"
    )
    fab(root, "prod")
    fab(root, "prod")
    assert (root.parent / "hook.log").read_text() == "ran\nran\n"


def test_up_to_date_runs_are_recorded_with_the_same_tree_facts(
    tree, tmp_path: Path, monkeypatch
) -> None:
    root = make_tree(tree({}).parent / "r")
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", url)
    fab(root, "prod")
    assert "up to date" in fab(root, "prod")
    with open_store(url) as store:
        second, first = store.records(environment="prod", limit=2)
    assert second["id"] != first["id"]
    assert second["outcome"] == "succeeded"
    for key in ("components", "images"):
        assert second[key] == first[key]
    assert second["output"]["digest"] == first["output"]["digest"]
    assert (first["output"]["changed"], second["output"]["changed"]) == (True, False)
    assert second["startedAt"] > first["startedAt"]


def test_records_turned_on_later_render_again(tree, tmp_path: Path, monkeypatch) -> None:
    """A stamp saved without records has no tree facts to copy into a record."""
    root = make_tree(tree({}).parent / "s")
    fab(root, "prod")
    monkeypatch.setenv("FAB_RECORDS", f"sqlite:///{tmp_path / 'records.db'}")
    assert "wrote" in fab(root, "prod")
    assert "up to date" in fab(root, "prod")


def test_a_chart_edited_while_helm_runs_is_not_cached_under_its_new_files(
    tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabrikate.render import helm

    root = make_tree(tree({}).parent / "edited")
    template = root / "chart" / "templates" / "configmap.yaml"
    before = template.read_text()
    real = helm.helm_template

    def edit_during(*args, **kwargs):  # the user saves the chart while helm reads it
        documents = real(*args, **kwargs)
        template.write_text(before.replace("ConfigMap", "ConfigMap\n# edited"))
        return documents

    monkeypatch.setattr(helm, "helm_template", edit_during)
    fabrikate.generate(root, ["prod"])  # cold: an empty render cache
    monkeypatch.setattr(helm, "helm_template", real)
    again = fabrikate.generate(root, ["prod"])
    assert again.cache_hits == 0  # the entries are keyed by the files helm read, not these
    assert snapshot(again.output) == full_regeneration(root, root.parent / "full")

"""Four ``fab install`` and four ``fab generate`` processes at once, on separate trees sharing
one cache: all succeed, and every tree ends exactly as a serial run leaves it; two library
``generate`` calls at once in one process each write their own cache entries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.trees import git, make_repo, write_tree

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"

pytestmark = pytest.mark.helm

TREES = 4


def repos(tmp_path: Path) -> list[str]:
    """Two bare repositories with two commits each (tags v1, v2); their file:// URLs."""
    urls = []
    for name in ("alpha", "beta"):
        work = tmp_path / f"{name}-work"
        make_repo(
            work,
            {
                "component.yaml": f"name: {name}\ntype: static\npath: m\n",
                "m/cm.yaml": f"kind: ConfigMap\nmetadata:\n  name: {name}-1\n",
            },
        )
        git(work, "tag", "v1")
        write_tree(work, {"m/cm.yaml": f"kind: ConfigMap\nmetadata:\n  name: {name}-2\n"})
        git(work, "commit", "-qam", "two")
        git(work, "tag", "v2")
        git(tmp_path, "clone", "-q", "--bare", str(work), f"{name}.git")
        urls.append((tmp_path / f"{name}.git").as_uri())
    return urls


def make_tree(root: Path, index: int, urls: list[str]) -> Path:
    """Tree ``index``: both repos at a version of its own, and a local helm chart."""
    subs = "".join(
        f"- name: {name}\n  method: git\n  source: {url}\n  version: v{1 + (index + n) % 2}\n"
        for n, (name, url) in enumerate(zip(("alpha", "beta"), urls, strict=True))
    )
    subs += "- name: web\n  type: helm\n  path: ./demo\n"
    shutil.copytree(CHARTS / "demo", root / "demo")
    return write_tree(
        root,
        {
            "component.yaml": f"name: hld{index}\nsubcomponents:\n{subs}",
            "config/prod.yaml": f"subcomponents:\n  web:\n    config:\n      replicas: {index + 1}\n",
        },
    )


def run_all(commands: list[list[str]], cache: Path, parallel: bool) -> None:
    env = dict(os.environ, FAB_CACHE_DIR=str(cache))
    fab = [sys.executable, "-m", "fabrikate", "-q"]
    if parallel:
        procs = [
            subprocess.Popen([*fab, *c], env=env, stderr=subprocess.PIPE, text=True)
            for c in commands
        ]
        results = [(p, p.communicate(timeout=300)[1]) for p in procs]
    else:
        results = []
        for c in commands:
            done = subprocess.run([*fab, *c], env=env, stderr=subprocess.PIPE, text=True)
            results.append((done, done.stderr))
    for proc, err in results:
        assert proc.returncode == 0, err


def state(root: Path) -> dict[str, str | bytes]:
    """Installed and generated files, and each installed clone's commit (not .git's files)."""
    found: dict[str, str | bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if ".git" in rel.parts or not path.is_file():
            continue
        found[str(rel)] = path.read_bytes()
    for clone in sorted((root / "components").iterdir()):
        found[f"{clone.name} HEAD"] = git(clone, "rev-parse", "HEAD")
    return found


def test_parallel_installs_and_generates_equal_serial_runs(tmp_path: Path) -> None:
    urls = repos(tmp_path)
    serial = [make_tree(tmp_path / f"serial{i}", i, urls) for i in range(TREES)]
    parallel = [make_tree(tmp_path / f"parallel{i}", i, urls) for i in range(TREES)]
    for trees, parallel_run in ((serial, False), (parallel, True)):
        cache = tmp_path / f"cache-{parallel_run}"
        run_all([["install", str(t)] for t in trees], cache, parallel_run)
        run_all([["generate", "-C", str(t), "prod"] for t in trees], cache, parallel_run)
    for one, other in zip(serial, parallel, strict=True):
        assert state(one) == state(other)
    produced = state(parallel[0])
    assert b"alpha-1" in produced["generated/prod/alpha/alpha.yaml"]
    assert b"beta-2" in produced["generated/prod/beta/beta.yaml"]
    assert b"replicas: 1" in produced["generated/prod/web.yaml"]


def _held_tree(root: Path, name: str) -> Path:
    """A static tree whose before-generate hook notes that it started, then waits (at most
    10 s) for a file ``go`` beside the tree."""
    wait = (
        "touch ../started; i=0; "
        "while [ ! -e ../go ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done"
    )
    return write_tree(
        root / "tree",
        {
            "component.yaml": f"name: {name}\ntype: static\npath: ./m\nhooks:\n  before-generate:\n"
            f"  - '{wait}'\n",
            "m/cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n",
            "config/common.yaml": f"namespace: {name}\n",
        },
    )


def _entries(cache: Path) -> set[str]:
    """The small entries in ``cache`` (not its locks)."""
    return {
        p.relative_to(cache).as_posix()
        for p in (cache / "v1").glob("*/??/*")
        if p.is_file() and not p.name.startswith(".")
    }


def _wait_for(path: Path) -> None:
    for _ in range(1000):
        if path.exists():
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def test_two_generates_in_threads_write_their_own_cache_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each library call holds its own cache writes: one that returns has written its entries,
    whatever another call in the same process is doing."""
    import fabrikate
    from fabrikate.settings import Settings

    outer, inner = _held_tree(tmp_path / "outer", "outer"), _held_tree(tmp_path / "inner", "inner")
    # One job: the walk reads the manifests (a cache entry) after the hook, while both hold.
    settings = Settings.from_env(records="none", jobs=1)

    def run(tree: Path) -> None:
        fabrikate.generate(tree, ["common"], settings=settings)

    expected = {}
    for tree in (outer, inner):  # what each run writes, alone in a cache of its own
        cache = tmp_path / f"alone-{tree.parent.name}"
        monkeypatch.setenv("FAB_CACHE_DIR", str(cache))
        (tree.parent / "go").touch()
        run(tree)
        (tree.parent / "go").unlink()
        shutil.rmtree(tree / "generated")
        expected[tree] = _entries(cache)
        assert expected[tree], "the run wrote no cache entry"
    assert expected[outer] != expected[inner]

    shared = tmp_path / "shared"
    monkeypatch.setenv("FAB_CACHE_DIR", str(shared))
    failures: list[BaseException] = []

    def thread(tree: Path) -> threading.Thread:
        def body() -> None:
            try:
                run(tree)
            except BaseException as exc:
                failures.append(exc)

        started = threading.Thread(target=body)
        started.start()
        _wait_for(tree.parent / "started")
        return started

    first = thread(outer)  # holding its writes, waiting in its hook
    second = thread(inner)  # began after the first: holding its writes, waiting too
    (outer.parent / "go").touch()
    first.join(30)
    assert not first.is_alive() and not failures, failures
    assert expected[outer] <= _entries(shared)  # written by the time its call returned
    (inner.parent / "go").touch()
    second.join(30)
    assert not second.is_alive() and not failures, failures
    assert expected[outer] | expected[inner] <= _entries(shared)

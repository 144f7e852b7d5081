"""Stamps: a scan notices every change a run could depend on, racy edits included."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fabrikate.api import stamp
from fabrikate.support.cache import Cache

FACTS = ("facts",)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, Cache]:
    root = tmp_path / "hld"
    (root / "config").mkdir(parents=True)
    (root / "component.yaml").write_text("name: app\n")
    (root / "config" / "prod.yaml").write_text("config: {a: 1}\n")
    dest = root / "generated" / "prod"
    dest.mkdir(parents=True)
    (dest / "app.yaml").write_text("kind: A\n")
    return root, dest, Cache(tmp_path / "cache")


def stamped(root: Path, dest: Path, cache: Cache, payload: object = "p") -> None:
    before = stamp.scan_inputs(root, dest)
    assert stamp.save(cache, "k", before, root, dest, FACTS, payload)


def fixed_clock(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A clock that moves only when told, every file under ``root`` a millisecond older than
    it (racy): set, not waited for, so a loaded machine cannot age the files before a scan."""
    now = time.time_ns() // 1_000_000_000 * 1_000_000_000 + 500_000_000  # not a whole second
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(now - 1_000_000, now - 1_000_000))
    clock = [now]
    monkeypatch.setattr(stamp.time, "time_ns", lambda: clock[0])
    return clock


def test_unchanged_tree_returns_the_payload(tree) -> None:
    root, dest, cache = tree
    stamped(root, dest, cache, {"files": ["app.yaml"]})
    assert stamp.check(cache, "k", root, dest, FACTS) == {"files": ["app.yaml"]}
    assert stamp.check(cache, "k", root, dest, ("other facts",)) is None
    assert stamp.check(cache, "other key", root, dest, FACTS) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda root, dest: (root / "config" / "prod.yaml").write_text("config: {a: 22}\n"),
        lambda root, dest: (root / "config" / "dev.yaml").write_text("{}\n"),
        lambda root, dest: (root / "config" / "prod.yaml").unlink(),
        lambda root, dest: (root / "new").mkdir(),
        lambda root, dest: (dest / "app.yaml").write_text("kind: Edited\n"),
        lambda root, dest: (dest / "app.yaml").unlink(),
        lambda root, dest: (dest / "extra.yaml").write_text("x\n"),
    ],
    ids=["edit", "add", "delete", "new-folder", "output-edit", "output-delete", "output-add"],
)
def test_any_change_is_noticed(tree, change) -> None:
    root, dest, cache = tree
    stamped(root, dest, cache)
    change(root, dest)
    assert stamp.check(cache, "k", root, dest, FACTS) is None


def test_other_outputs_and_git_internals_are_not_inputs(tree) -> None:
    root, dest, cache = tree
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    stamped(root, dest, cache)
    (root / "generated" / "dev").mkdir()
    (root / "generated" / "dev" / "app.yaml").write_text("kind: Dev\n")
    (root / ".git" / "objects" / "ab").write_text("a commit\n")
    assert stamp.check(cache, "k", root, dest, FACTS) == "p"
    (root / ".git" / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    assert stamp.check(cache, "k", root, dest, FACTS) is None


def test_a_racy_edit_that_keeps_size_and_mtime_is_noticed(tree, monkeypatch) -> None:
    """An edit in the same timestamp tick as the scan keeps the mtime: contents decide."""
    root, dest, cache = tree
    config = root / "config" / "prod.yaml"
    fixed_clock(root, monkeypatch)
    stamped(root, dest, cache)
    before = config.stat()
    config.write_text("config: {a: 2}\n")  # same size
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert config.stat().st_size == before.st_size
    assert stamp.check(cache, "k", root, dest, FACTS) is None


def test_digests_are_dropped_once_files_are_old(tree, monkeypatch: pytest.MonkeyPatch) -> None:
    root, dest, cache = tree
    clock = fixed_clock(root, monkeypatch)
    now = clock[0]
    stamped(root, dest, cache)
    data = stamp._load(cache, "k")
    assert all(e[3] for part in ("inputs", "output") for e in data[part].values() if e[1])
    clock[0] = now + 10 * stamp.COARSE_NS
    assert stamp.check(cache, "k", root, dest, FACTS) == "p"  # contents compared, then dropped
    data = stamp._load(cache, "k")
    assert not any(e[3] for part in ("inputs", "output") for e in data[part].values())
    assert stamp.check(cache, "k", root, dest, FACTS) == "p"
    (root / "config" / "prod.yaml").write_text("config: {a: 1234}\n")
    assert stamp.check(cache, "k", root, dest, FACTS) is None


def test_a_change_during_the_run_is_not_stamped(tree) -> None:
    root, dest, cache = tree
    before = stamp.scan_inputs(root, dest)
    (root / "config" / "prod.yaml").write_text("config: {a: 3}\n")
    assert not stamp.save(cache, "k", before, root, dest, FACTS, "p")
    assert stamp.check(cache, "k", root, dest, FACTS) is None


def test_links_to_folders_cannot_be_stamped(tree, tmp_path: Path) -> None:
    root, dest, cache = tree
    (tmp_path / "elsewhere").mkdir()
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    before = stamp.scan_inputs(root, dest)
    assert before.entries is None
    assert not stamp.save(cache, "k", before, root, dest, FACTS, "p")


def test_a_link_to_a_file_is_followed(tree, tmp_path: Path) -> None:
    root, dest, cache = tree
    target = tmp_path / "values.yaml"
    target.write_text("a: 1\n")
    (root / "values.yaml").symlink_to(target)
    stamped(root, dest, cache)
    target.write_text("a: 22\n")
    assert stamp.check(cache, "k", root, dest, FACTS) is None


def test_a_damaged_stamp_is_a_miss(tree) -> None:
    root, dest, cache = tree
    stamped(root, dest, cache)
    path = cache.path("stamps", "k")
    path.write_bytes(path.read_bytes()[:20])
    assert stamp.check(cache, "k", root, dest, FACTS) is None
    path.write_bytes(b"not marshal data")
    assert stamp.check(cache, "k", root, dest, FACTS) is None


def test_facts_follow_the_helm_binary_and_helm_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helm = tmp_path / "helm"
    helm.write_text("#!/bin/sh\n")
    helm.chmod(0o755)
    first = stamp.facts({"helm": str(helm)})
    assert stamp.facts({"helm": str(helm)}) == first
    monkeypatch.setenv("HELM_KUBEVERSION", "1.30")
    assert stamp.facts({"helm": str(helm)}) != first
    monkeypatch.delenv("HELM_KUBEVERSION")
    helm.write_text("#!/bin/sh\necho new\n")
    assert stamp.facts({"helm": str(helm)}) != first
    assert stamp.facts({"helm": str(helm), "strict": True}) != stamp.facts({"helm": str(helm)})

"""The cache folder: small entries, locks, trimming and pruning."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from fabrikate.errors import FabrikateError
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, cache_root, digest, held_writes
from fabrikate.support.parallel import Pool


def test_the_cache_is_the_one_the_settings_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAB_CACHE_DIR", str(tmp_path / "env"))
    assert Cache.of(Settings()).location == tmp_path / "env" / "v1"
    assert Cache.of(Settings.from_env()).location == tmp_path / "env" / "v1"
    assert Cache.of(Settings(cache_dir=str(tmp_path / "mine"))).location == tmp_path / "mine" / "v1"
    assert cache_root(str(tmp_path)) == tmp_path / "v1"


def test_a_run_uses_the_cache_its_settings_name(tmp_path: Path) -> None:
    from fabrikate import generate

    root = tmp_path / "hld"
    (root / "manifests").mkdir(parents=True)
    (root / "component.yaml").write_text("name: app\ntype: static\npath: ./manifests\n")
    (root / "manifests" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
    )
    mine = tmp_path / "mine"
    generate(root, ["common"], settings=Settings(cache_dir=str(mine), records="none"))
    assert (mine / "v1" / "locks").is_dir()  # the tree lock, taken in the named cache


def test_digest_separates_parts() -> None:
    assert digest("ab", "c") != digest("a", "bc")


def test_small_entries_round_trip_and_trim_keeps_the_newest(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "v1")
    for i in range(5):
        cache.put("render", digest(str(i)), b"x" * 100)
        os.utime(cache.path("render", digest(str(i))), (i, i))
    assert cache.get("render", digest("4")) == b"x" * 100
    assert cache.trim(["render"], 300) == 3  # each entry: 100 bytes and its 44-byte seal
    assert [cache.has("render", digest(str(i))) for i in range(5)] == [False] * 3 + [True] * 2
    assert (tmp_path / "README").exists()
    for i in range(5):
        cache.put("render", digest(f"more {i}"), b"x" * 100)
    assert cache.trim(["render"], 300, every=600) == 0  # trimmed a moment ago
    assert cache.trim(["render"], 300) == 5


def test_held_entries_are_served_at_once_and_written_while_the_run_goes_on(
    tmp_path: Path,
) -> None:
    cache = Cache(tmp_path / "v1")
    first, second = digest("first"), digest("second")
    with held_writes() as held:
        cache.put("render", first, b"one")
        assert cache.get("render", first) == b"one"  # from memory, written or not
        assert cache.has("render", first)
        cache.put("render", second, b"two")
        cache.put("render", second, b"two, again")  # the last data put is the one kept
        assert held.thread is not None and held.thread.is_alive()  # writing while held
    assert held.thread is not None and not held.thread.is_alive()
    assert cache.get("render", first) == b"one"  # from disk now
    assert cache.get("render", second) == b"two, again"
    assert not list((tmp_path / "v1" / "render").glob("*/.tmp-*"))


def test_a_block_that_puts_nothing_starts_no_writer(tmp_path: Path) -> None:
    with held_writes() as held:
        assert Cache(tmp_path / "v1").get("render", digest("none")) is None
    assert held.thread is None


def test_the_cache_is_private_to_the_user(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "fab" / "v1")
    cache.put("render", digest("secret"), b"kind: Secret\n")
    for folder in (cache.root, cache.root / "render"):
        assert folder.stat().st_mode & 0o777 == 0o700


def test_a_held_lock_fails_fast_without_wait(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "v1")
    other = Cache(tmp_path / "v1").lock("locks", "tree", wait=False, what="my tree")
    with cache.lock("locks", "tree"), pytest.raises(FabrikateError, match="working on my tree"):
        other.__enter__()


def test_prune_all_and_old_versions(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "v1")
    cache.put("validated", digest("a"), b"")
    (cache.folder("git") / "mirror").mkdir()
    (tmp_path / "v0").mkdir()
    removed = cache.prune()
    assert sorted(e.kind for e in removed) == ["git", "validated"]
    assert cache.entries() == []
    assert not (tmp_path / "v0").exists()


def test_held_writes_belong_to_the_code_that_holds_them(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "v1")

    def elsewhere() -> None:  # another thread, not handed work by the holder: its own context
        cache.put("render", "direct", b"written at once")

    with held_writes() as held:
        with Pool(2) as pool:  # the pool's workers run in the holder's context
            pool.submit(cache.put, "render", "held", b"kept")
        assert held.held(cache, "render", "held") == b"kept"
        other = threading.Thread(target=elsewhere)
        other.start()
        other.join()
        assert held.held(cache, "render", "direct") is None
        assert cache.path("render", "direct").is_file()
    assert cache.get("render", "held") == b"kept"
    assert cache.path("render", "held").is_file()


def test_an_entry_folder_removed_during_a_run_is_made_again(tmp_path: Path) -> None:
    import shutil

    cache = Cache(tmp_path / "cache")
    cache.put("render", "ab" + "0" * 62, b"first")
    shutil.rmtree(cache.root / "render")  # a prune from another process, say
    cache.put("render", "ab" + "1" * 62, b"second")
    assert cache.get("render", "ab" + "1" * 62) == b"second"
    assert cache.root == cache.location  # no fallback to a temporary cache

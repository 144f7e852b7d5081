"""The persistent cache of bare git mirrors and pulled chart archives, shared by fab processes.

    cache = Cache.default()
    with cache.lock("git", key):
        ...

It lives in the user cache directory (``FAB_CACHE_DIR`` overrides), under a versioned subfolder.
Entries are filled with check, lock, check again; new entries are built in a temp folder inside
the cache and renamed into place, so a reader never sees half an entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE_VERSION", "Cache", "CacheEntry", "slug"]

log = logging.getLogger("fabrikate")

CACHE_VERSION = "v1"
KINDS = (
    "git",
    "checkouts",
    "charts",
)  # what install keeps; the render cache (fabrikate.cache) is apart
_README = """\
This folder is fab's cache (fabrikate-gitops): bare git mirrors and helm chart archives.
It is safe to delete; `fab cache prune` does so while respecting running installs.
"""


def slug(url: str) -> str:
    """A stable, readable folder name for a URL: a few safe characters plus a hash."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])[:40]
    return f"{tail}-{digest}" if tail else digest


@dataclass(frozen=True)
class CacheEntry:
    """One cached item, for ``fab cache info``."""

    kind: str
    path: Path
    size: int
    last_used: float


class Cache:
    """The cache folder: one subfolder per kind (``git``, ``charts``), one lock per entry."""

    def __init__(self, root: Path) -> None:
        self.base = root.absolute()
        self.root = self.base / CACHE_VERSION

    @classmethod
    def default(cls) -> Cache:
        """The user's cache: ``FAB_CACHE_DIR`` or the platform's user cache directory."""
        override = os.environ.get("FAB_CACHE_DIR")
        if override:
            return cls(Path(override))
        import platformdirs

        return cls(Path(platformdirs.user_cache_dir("fabrikate", appauthor=False)))

    def folder(self, kind: str) -> Path:
        """The folder of one kind of entry, created on first use."""
        path = self.root / kind
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            readme = self.base / "README"
            if not readme.exists():
                with contextlib.suppress(OSError):
                    readme.write_text(_README)
        return path

    @contextlib.contextmanager
    def lock(self, kind: str, key: str, timeout: float = -1) -> Iterator[None]:
        """Hold the file lock of one entry; log once if another process holds it."""
        import filelock

        path = self.folder(kind) / f"{key}.lock"
        lock = filelock.FileLock(str(path))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            log.debug("waiting for the cache lock %s (another fetch holds it)", path)
            lock.acquire(timeout=timeout)
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def building(self, kind: str) -> Iterator[Path]:
        """A temp folder inside the cache, removed unless the caller renamed it away."""
        temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder(kind)))
        try:
            yield temp
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def entries(self) -> list[CacheEntry]:
        """Every entry of the current cache version."""
        found = []
        if not self.root.is_dir():
            return found
        for kind in (self.root / name for name in KINDS):
            if not kind.is_dir():
                continue
            for path in sorted(kind.iterdir()):
                if path.name.startswith(".") or path.suffix == ".lock":
                    continue
                found.append(CacheEntry(kind.name, path, _size(path), _last_used(path)))
        return found

    def prune(self, older_than: float = 0.0) -> list[CacheEntry]:
        """Remove entries unused for ``older_than`` seconds (all by default), and old versions."""
        removed = []
        cutoff = time.time() - older_than
        for entry in self.entries():
            if entry.last_used > cutoff and older_than > 0:
                continue
            with self.lock(entry.kind, entry.path.name.removesuffix(".tgz")):
                _remove(entry.path)
            removed.append(entry)
        if self.base.is_dir():
            for other in self.base.iterdir():
                stale = other.name != CACHE_VERSION and re.fullmatch(r"v\d+", other.name)
                if stale and other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
        return removed


def touch(path: Path) -> None:
    """Mark an entry as used now (prune keeps recently used entries)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _last_used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

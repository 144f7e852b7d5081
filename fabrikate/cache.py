"""fab's cache folder: small content-addressed entries shared by every run and process.

    store = Cache.default()
    store.put("render", key, data)
    data = store.get("render", key)

The folder is ``FAB_CACHE_DIR``, else the user cache dir (platformdirs), always with a version
subfolder. Entries are written to a temp file and renamed, so concurrent runs never read half an
entry; the cache is best-effort: an unreadable entry is a miss and a failed write is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fabrikate.errors import FabrikateError

__all__ = ["CACHE_VERSION", "Cache", "cache_root", "digest"]

log = logging.getLogger("fabrikate")


CACHE_VERSION = "v1"
README = "This folder is fab's cache; it is safe to delete. See `fab cache info`.\n"


def cache_root() -> Path:
    """The versioned cache folder."""
    base = os.environ.get("FAB_CACHE_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("fabrikate")
    return Path(base) / CACHE_VERSION


def digest(*parts: bytes | str) -> str:
    """A sha256 hex digest over ``parts``, each length-prefixed so boundaries count."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class Cache:
    """A cache folder holding entries by kind (``render``, ``validated``, …) and key."""

    root: Path

    @classmethod
    def default(cls) -> Cache:
        """The cache at ``cache_root()``."""
        return cls(cache_root())

    def path(self, kind: str, key: str) -> Path:
        """Where the entry ``key`` of ``kind`` lives."""
        return self.root / kind / key[:2] / key

    def get(self, kind: str, key: str) -> bytes | None:
        """The entry, or None when missing or unreadable."""
        try:
            return self.path(kind, key).read_bytes()
        except OSError:
            return None

    def has(self, kind: str, key: str) -> bool:
        """Whether the entry exists."""
        return self.path(kind, key).is_file()

    def put(self, kind: str, key: str, data: bytes) -> None:
        """Store an entry atomically; failures are ignored (the cache is best-effort)."""
        path = self.path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._readme()
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError:
            pass

    def _readme(self) -> None:
        readme = self.root.parent / "README"
        if not readme.exists():
            readme.write_text(README)

    @contextlib.contextmanager
    def lock(self, name: str, what: str, wait: bool) -> Iterator[None]:
        """Hold the lock ``name``; without ``wait``, fail at once when another process has it."""
        import filelock

        path = self.root / "locks" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        held = filelock.FileLock(path)
        try:
            held.acquire(timeout=0)
        except filelock.Timeout:
            if not wait:
                raise FabrikateError(
                    f"another fab process is working on {what} (use --wait)"
                ) from None
            log.info("waiting for another fab process working on %s", what)
            held.acquire()
        try:
            yield
        finally:
            held.release()

    def entries(self, kinds: Iterable[str]) -> list[tuple[Path, os.stat_result]]:
        """Every entry file of ``kinds`` with its stat."""
        found = []
        for kind in kinds:
            for folder, _, names in os.walk(self.root / kind):
                for name in names:
                    path = Path(folder, name)
                    try:
                        found.append((path, path.stat()))
                    except OSError:
                        continue
        return found

    def prune(self, kinds: Iterable[str], max_bytes: int, max_age: float | None = None) -> int:
        """Drop the least recently modified entries until ``kinds`` fit in ``max_bytes``."""
        entries = sorted(self.entries(kinds), key=lambda e: e[1].st_mtime, reverse=True)
        now, total, removed = time.time(), 0, 0
        for path, stat in entries:
            total += stat.st_size
            if total > max_bytes or (max_age is not None and now - stat.st_mtime > max_age):
                try:
                    path.unlink()
                    removed += 1
                except OSError:
                    continue
        return removed

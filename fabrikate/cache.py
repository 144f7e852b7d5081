"""fab's cache folder, shared by every run and every fab process on the machine.

    cache = Cache.default()
    with cache.lock("git", key):           # one process fills an entry, others wait
        with cache.building("git") as tmp:   # built in a temp folder, then renamed into place
            ...
    cache.put("render", key, data)           # small content-addressed entries
    data = cache.get("render", key)

The folder is ``FAB_CACHE_DIR``, else the user cache dir (platformdirs), always with a version
subfolder. Kinds: ``git`` (bare mirrors), ``checkouts`` (one tree per commit), ``charts``
(pulled chart archives), ``helm`` (fab's own helm homes), ``definitions`` (``fab find``), and the
small entries ``render``, ``inject``, ``parsed``, ``validated``, ``tools`` and ``stamps``. Small
entries are best-effort: an unreadable one is a miss and a failed write is ignored. The folders
are private to the user: rendered manifests may hold secrets.
"""

from __future__ import annotations

# tempfile is imported where used: a run with nothing to do never needs it.
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fabrikate.errors import FabrikateError
from fabrikate.fsutil import remove

__all__ = ["CACHE_VERSION", "Cache", "CacheEntry", "cache_root", "digest", "slug", "touch"]

log = logging.getLogger("fabrikate")

CACHE_VERSION = "v1"
SMALL_KINDS = ("render", "inject", "parsed", "validated", "tools", "stamps")
LARGE_KINDS = ("git", "checkouts", "charts", "definitions")
README = "This folder is fab's cache (fabrikate-gitops); it is safe to delete. See `fab cache`.\n"


def cache_root() -> Path:
    """The versioned cache folder."""
    base = os.environ.get("FAB_CACHE_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("fabrikate", appauthor=False)
    return Path(base).absolute() / CACHE_VERSION


def digest(*parts: bytes | str) -> str:
    """A sha256 hex digest over ``parts``, each length-prefixed so boundaries count."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def slug(url: str) -> str:
    """A stable, readable folder name for a URL: a few safe characters plus a hash."""
    hashed = hashlib.sha256(url.encode()).hexdigest()[:16]
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])[:40]
    return f"{tail}-{hashed}" if tail else hashed


def touch(path: Path) -> None:
    """Mark an entry as used now (prune keeps recently used entries)."""
    with contextlib.suppress(OSError):
        os.utime(path)


@dataclass(frozen=True)
class CacheEntry:
    """One cached item, for ``fab cache info`` and ``prune``."""

    kind: str
    path: Path
    size: int
    last_used: float


@dataclass(frozen=True)
class Cache:
    """The versioned cache folder at ``root``."""

    root: Path

    @classmethod
    def default(cls) -> Cache:
        """The cache at ``cache_root()``."""
        return cls(cache_root())

    def folder(self, kind: str) -> Path:
        """The folder of one kind of entry, created on first use."""
        path = self.root / kind
        if not path.is_dir():
            # Private: rendered manifests and parsed config may hold the tree's secrets.
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.mkdir(mode=0o700, exist_ok=True)
            readme = self.root.parent / "README"
            if not readme.exists():
                with contextlib.suppress(OSError):
                    readme.write_text(README)
        return path

    def path(self, kind: str, key: str) -> Path:
        """Where the small entry ``key`` of ``kind`` lives."""
        return Path(f"{self.root}/{kind}/{key[:2]}/{key}")  # one parse: called very often

    def get(self, kind: str, key: str) -> bytes | None:
        """A small entry, or None when missing or unreadable."""
        try:
            return self.path(kind, key).read_bytes()
        except OSError:
            return None

    def has(self, kind: str, key: str) -> bool:
        """Whether a small entry exists."""
        return self.path(kind, key).is_file()

    def put(self, kind: str, key: str, data: bytes) -> None:
        """Store a small entry atomically; failures are ignored (it is best-effort)."""
        path = self.path(kind, key)
        temp = path.parent / f".tmp-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            self.folder(kind)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(temp, "xb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()

    @contextlib.contextmanager
    def lock(self, kind: str, key: str, *, wait: bool = True, what: str = "") -> Iterator[None]:
        """Hold the file lock ``kind/key``. Without ``wait``, fail at once when another process
        holds it, naming ``what`` it protects."""
        # flock locks belong to the open file: another process, or another open of the same
        # file in this process, waits; the kernel drops them when the holder dies.
        fd = os.open(self.folder(kind) / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    message = f"another fab process is working on {what or key} (use --wait)"
                    raise FabrikateError(message) from None
                log.info("waiting for another fab process working on %s", what or f"{kind}/{key}")
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def building(self, kind: str) -> Iterator[Path]:
        """A temp folder inside the cache, removed unless the caller renamed it away."""
        import tempfile

        temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder(kind)))
        try:
            yield temp
        finally:
            remove(temp)

    def entries(self, kinds: Iterable[str] = SMALL_KINDS + LARGE_KINDS) -> list[CacheEntry]:
        """Every entry of ``kinds``: the files of small kinds, the top folders of large ones."""
        found = []
        for kind in kinds:
            folder = self.root / kind
            if not folder.is_dir():
                continue
            if kind in SMALL_KINDS:
                for path in folder.glob("??/*"):
                    if not path.name.startswith("."):
                        found.append(CacheEntry(kind, path, _size(path), _last_used(path)))
                continue
            for path in sorted(folder.iterdir()):
                if not path.name.startswith(".") and path.suffix != ".lock":
                    found.append(CacheEntry(kind, path, _size(path), _last_used(path)))
        return found

    def prune(self, older_than: float = 0.0) -> list[CacheEntry]:
        """Remove entries unused for ``older_than`` seconds (all by default), and old versions."""
        removed = []
        cutoff = time.time() - older_than
        for entry in self.entries():
            if older_than > 0 and entry.last_used > cutoff:
                continue
            if entry.kind in SMALL_KINDS:
                remove(entry.path)
            else:
                with self.lock(entry.kind, entry.path.name.removesuffix(".tgz")):
                    remove(entry.path)
            removed.append(entry)
        base = self.root.parent
        if base.is_dir():
            for other in base.iterdir():
                stale = other.name != CACHE_VERSION and re.fullmatch(r"v\d+", other.name)
                if stale and other.is_dir():
                    remove(other)
        return removed

    def trim(self, kinds: Iterable[str], max_bytes: int, *, every: float = 0.0) -> int:
        """Drop the least recently used small entries until ``kinds`` fit in ``max_bytes``.

        With ``every``, do nothing if a trim ran less than that many seconds ago: listing a
        large cache costs more than the little it grows in between.
        """
        marker = self.root / ".trimmed"
        if every and time.time() - _last_used(marker) < every:
            return 0
        with contextlib.suppress(OSError):
            marker.touch()
        entries = sorted(self.entries(kinds), key=lambda e: e.last_used, reverse=True)
        total, removed = 0, 0
        for entry in entries:
            total += entry.size
            if total > max_bytes:
                remove(entry.path)
                removed += 1
        return removed


def _last_used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total

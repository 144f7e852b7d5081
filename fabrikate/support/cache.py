"""fab's cache folder, shared by every run and every fab process on the machine.

    cache = Cache.of(settings)
    with cache.lock("git", key):           # one process fills an entry, others wait
        with cache.building("git") as tmp:   # built in a temp folder, then renamed into place
            ...
    cache.put("render", key, data)           # small content-addressed entries
    data = cache.get("render", key)

The folder is ``FAB_CACHE_DIR``, else the user cache dir (platformdirs), always with a version
subfolder. Kinds: ``git`` (bare mirrors), ``checkouts`` (one tree per commit), ``charts``
(pulled chart archives), ``helm`` (fab's own helm homes), ``definitions`` (``fab find``), and the
small entries ``render``, ``inject``, ``parsed``, ``tools``, ``stamps`` and ``timings`` (one entry:
how long each helm render took, to start the longest first; ``validated``, left by older
versions, is only pruned). The folders are private to the user: rendered manifests may hold secrets.

A cache file is untrusted input. Small entries are written atomically and sealed with their
length and digest; a damaged one is a miss (logged at debug level, then rewritten). Any fault of
the cache itself (a folder that is a file, no permission, a full disk) makes the process run
without it, in a private temporary folder, after one warning: never a failed run.
"""

from __future__ import annotations

# tempfile is imported where used: a run with nothing to do never needs it.
import contextlib
import contextvars
import fcntl
import hashlib
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from fabrikate.errors import FabrikateError
from fabrikate.settings import Settings, variable
from fabrikate.support.fsutil import remove, write_bytes

__all__ = [
    "CACHE_VERSION",
    "Cache",
    "CacheEntry",
    "HeldWrites",
    "at_end",
    "cache_root",
    "digest",
    "held_writes",
    "slug",
    "touch",
]

if TYPE_CHECKING:
    from queue import SimpleQueue

log = logging.getLogger("fabrikate")

CACHE_VERSION = "v1"
SMALL_KINDS = (
    "render",
    "inject",
    "described",
    "parsed",
    "validated",
    "tools",
    "stamps",
    "timings",
)
LARGE_KINDS = ("git", "checkouts", "charts", "definitions")
README = "This folder is fab's cache (fabrikate-gitops); it is safe to delete. See `fab cache`.\n"
# A small entry: magic, the data's length (8 bytes) and SHA-256 (32 bytes), then the data.
_MAGIC = b"fab\x01"
_HEADER = len(_MAGIC) + 8 + 32
# Caches that failed, by configured folder: the private temporary folder used instead.
_FALLBACK: dict[Path, Path] = {}
# The entry folders this process made or found, so that a write needs no check of its folder.
_MADE: set[str] = set()
_FALLBACK_LOCK = threading.Lock()


def cache_root(base: str | None = None) -> Path:
    """The versioned cache folder under ``base``, else under the user cache dir."""
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


class CacheEntry(NamedTuple):
    """One cached item, for ``fab cache info`` and ``prune``."""

    kind: str
    path: Path
    size: int
    last_used: float


def _seal(data: bytes) -> bytes:
    return _MAGIC + len(data).to_bytes(8, "big") + hashlib.sha256(data).digest() + data


def _read_entry(path: Path) -> bytes | None:
    """The bytes of the regular file ``path``; None when there is none, or a link, FIFO or
    device is there (never followed, never waited for)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None
        except OSError:
            return None


def _unseal(blob: bytes) -> bytes | None:
    """The data of a sealed entry, or None when it is not whole."""
    data = blob[_HEADER:]
    if (
        blob[: len(_MAGIC)] != _MAGIC
        or int.from_bytes(blob[len(_MAGIC) : len(_MAGIC) + 8], "big") != len(data)
        or hashlib.sha256(data).digest() != blob[len(_MAGIC) + 8 : _HEADER]
    ):
        return None
    return data


class HeldWrites:
    """Small entries put during a run (``held_writes``): kept in memory, served by ``get`` and
    ``has``, and written on one thread as they come, so that no render waits for the disk and
    few writes are left once the output is written."""

    def __init__(self) -> None:
        self.entries: dict[tuple[Cache, str, str], bytes] = {}
        self.lock = threading.Lock()
        self.queue: SimpleQueue[tuple[Cache, str, str] | None] | None = None
        self.thread: threading.Thread | None = None
        self.ends: list[Callable[[], None]] = []

    def hold(self, cache: Cache, kind: str, key: str, data: bytes) -> None:
        """Keep one entry, and have it written."""
        with self.lock:
            self.entries[cache, kind, key] = data
            if self.queue is None:  # the first entry: a run with none never needs the thread
                from queue import SimpleQueue

                self.queue = SimpleQueue()
                self.thread = threading.Thread(
                    target=self._write, args=(self.queue,), name="fab-cache-writes", daemon=True
                )
                self.thread.start()
            self.queue.put((cache, kind, key))

    def held(self, cache: Cache, kind: str, key: str) -> bytes | None:
        """The data of an entry held, if it is."""
        with self.lock:
            return self.entries.get((cache, kind, key))

    def _write(self, pending: SimpleQueue[tuple[Cache, str, str] | None]) -> None:
        while (item := pending.get()) is not None:
            cache, kind, key = item
            with self.lock:
                data = self.entries[item]
            cache.write(kind, key, data)

    def wait(self) -> None:
        """Wait until every entry held is written."""
        with self.lock:
            thread, pending = self.thread, self.queue
        if thread is not None and pending is not None:
            pending.put(None)
            thread.join()
        for end in self.ends:
            end()


# The run holding its writes in this context, if any: each call of ``generate`` has its own,
# and the pool's workers run in the context of the code that handed them their work.
_HELD: contextvars.ContextVar[HeldWrites | None] = contextvars.ContextVar("held", default=None)


@contextlib.contextmanager
def held_writes() -> Iterator[HeldWrites]:
    """Hold the small entries put inside the block (in this context) in memory while a thread
    writes them; all
    are written (and waited for) by the end of the block."""
    held = HeldWrites()
    token = _HELD.set(held)
    try:
        yield held
    finally:
        _HELD.reset(token)
        held.wait()


def at_end(end: Callable[[], None]) -> None:
    """Have ``end`` called where the held writes are waited for (now, outside
    ``held_writes``)."""
    held = _HELD.get()
    if held is None:
        end()
    else:
        with held.lock:
            held.ends.append(end)


def _fall_back(configured: Path, exc: OSError) -> Path:
    """The private temporary folder a failed cache is replaced by (one warning per process)."""
    import atexit
    import tempfile

    with _FALLBACK_LOCK:
        if configured not in _FALLBACK:
            log.warning(
                "cannot use the cache at %s (%s): running without it",
                configured,
                exc.strerror or exc,
            )
            temp = Path(tempfile.mkdtemp(prefix="fab-cache-")) / CACHE_VERSION
            temp.mkdir(mode=0o700)
            atexit.register(remove, temp.parent)
            _FALLBACK[configured] = temp
        return _FALLBACK[configured]


def drop_fallbacks() -> None:
    """Remove the temporary folders of failed caches (the ``fab`` program leaves without
    running ``atexit`` handlers)."""
    with _FALLBACK_LOCK:
        for temp in _FALLBACK.values():
            remove(temp.parent)


class Cache(NamedTuple):
    """The versioned cache folder at ``location`` (or, once it failed, a temporary one)."""

    location: Path

    @classmethod
    def of(cls, settings: Settings) -> Cache:
        """The cache the run's settings name."""
        return cls(cache_root(settings.cache_dir))

    @classmethod
    def default(cls) -> Cache:
        """The cache of code that runs without settings: the content-addressed parse memos."""
        return cls(cache_root(variable("CACHE_DIR")))

    @property
    def root(self) -> Path:
        """The folder in use: ``location``, unless it failed this run."""
        return _FALLBACK.get(self.location, self.location)

    def folder(self, kind: str) -> Path:
        """The folder of one kind of entry, created on first use."""
        path = self.root / kind
        if path.is_dir() and not path.is_symlink():
            return path
        try:
            # Private: rendered manifests and parsed config may hold the tree's secrets.
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            path = _fall_back(self.location, exc) / kind
            path.mkdir(mode=0o700, exist_ok=True)
            return path
        readme = self.root.parent / "README"
        if not readme.exists():
            with contextlib.suppress(OSError):
                readme.write_text(README)
        return path

    def has_kind(self, kind: str) -> bool:
        """Whether any small entry of ``kind`` may exist (its folder does)."""
        return (self.root / kind).is_dir()

    def path(self, kind: str, key: str) -> Path:
        """Where the small entry ``key`` of ``kind`` lives."""
        return Path(f"{self.root}/{kind}/{key[:2]}/{key}")  # one parse: called very often

    def get(self, kind: str, key: str) -> bytes | None:
        """A small entry, or None when missing, unreadable or damaged (then it is dropped)."""
        held = _HELD.get()
        if held is not None:
            data = held.held(self, kind, key)
            if data is not None:
                return data
        path = self.path(kind, key)
        blob = _read_entry(path)
        if blob is None:
            return None
        data = _unseal(blob)
        if data is None:
            log.debug("damaged cache entry %s: a miss", path)
            with contextlib.suppress(OSError):
                path.unlink()
        return data

    def has(self, kind: str, key: str) -> bool:
        """Whether a small entry exists (``get`` still checks that it is whole)."""
        held = _HELD.get()
        if held is not None and held.held(self, kind, key) is not None:
            return True
        return self.path(kind, key).is_file()

    def put(self, kind: str, key: str, data: bytes) -> None:
        """Store a small entry atomically, sealed (inside ``held_writes``, on its thread); a
        cache that cannot be written is given up for this run after one warning."""
        held = _HELD.get()
        if held is not None:
            held.hold(self, kind, key, data)
        else:
            self.write(kind, key, data)

    def write(self, kind: str, key: str, data: bytes) -> None:
        """Write the small entry ``key`` of ``kind`` now."""
        blob = _seal(data)
        try:
            path = self.path(kind, key)
            if str(path.parent) in _MADE:
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile: made again
                    write_bytes(
                        path, blob, durable=False, prefix=".tmp-", mode=0o600, parents=False
                    )
                    return
                _MADE.discard(str(path.parent))
            self.folder(kind)
            path = self.path(kind, key)  # the folder may have fallen back
            write_bytes(path, blob, durable=False, prefix=".tmp-", mode=0o600)
            _MADE.add(str(path.parent))
        except OSError as exc:
            if self.root == self.location:
                _fall_back(self.location, exc)

    @contextlib.contextmanager
    def lock(self, kind: str, key: str, *, wait: bool = True, what: str = "") -> Iterator[None]:
        """Hold the file lock ``kind/key``. Without ``wait``, fail at once when another process
        holds it, naming ``what`` it protects."""
        # flock locks belong to the open file: another process, or another open of the same
        # file in this process, waits; the kernel drops them when the holder dies.
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC  # a link is not followed
        try:
            fd = os.open(self.folder(kind) / f"{key}.lock", flags, 0o644)
        except OSError as exc:
            _fall_back(self.location, exc)
            fd = os.open(self.folder(kind) / f"{key}.lock", flags, 0o644)
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

        try:
            temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder(kind)))
        except OSError as exc:
            _fall_back(self.location, exc)
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

"""What every fetcher shares: requests, results, the ``Fetcher`` protocol and one run's state.

    run = SourceRun(settings)
    commit = run.once(("git", url), lambda: resolve(url))   # computed once per run

Fetchers (``git.py``, ``helm.py``, ``http.py``) import this module, never the registry in
``sources/__init__.py`` that picks them by method.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, TypeVar

from fabrikate.errors import Diagnostic, FetchError
from fabrikate.settings import Settings
from fabrikate.sources.credentials import Credentials
from fabrikate.sources.mirrors import Mirrors, Rewrite
from fabrikate.support.cache import Cache
from fabrikate.support.fsutil import replace_dir
from fabrikate.support.redact import redact_url
from fabrikate.support.text import cause_of

__all__ = [
    "Fetcher",
    "Finish",
    "Placed",
    "Request",
    "SourceRun",
    "cause_of",
    "staging",
    "swap_in",
]

log = logging.getLogger("fabrikate")

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """What one component asks for: a method, a source URL, and which version of it.

    ``source`` is the URL fetched; once ``SourceRun.route`` has applied the mirror map (and a
    vendor folder), ``origin`` is the URL as the definition wrote it and ``mirror`` the URL the
    map chose, when they differ. ``pin`` and ``digest`` come from ``fabrikate.lock``.
    """

    component: str
    method: str
    source: str
    path: str = ""  # the chart name for helm sources
    version: str = ""
    branch: str = ""
    origin: str = ""
    mirror: str = ""
    pin: str = ""  # the locked commit (git) or exact chart version (helm)
    digest: str = ""  # the locked sha256 of the chart archive or http file
    private: bool = False  # its hooks may change its files: it gets a copy of its own

    @property
    def shown(self) -> str:
        """The source fetched, as it may be printed (no credentials), and what it stands for."""
        if self.origin and self.origin != self.source:
            return f"{redact_url(self.source)} (for {redact_url(self.origin)})"
        return redact_url(self.source)

    @property
    def asked(self) -> str:
        """The source as the definition wrote it, without credentials (notes, records)."""
        return redact_url(self.origin or self.source)

    @property
    def routed(self) -> bool:
        """Whether the mirror map or a vendor folder chose ``source`` (not the definition)."""
        return bool(self.origin) and self.origin != self.source

    @property
    def fetched(self) -> Request:
        """The request as fetched: a locked pin replaces the version or branch asked for."""
        if not self.pin:
            return self
        return replace(self, version=self.pin, branch="")


@dataclass(frozen=True)
class Placed:
    """What a fetch did: the exact version placed, and whether the network was needed."""

    detail: str
    cached: bool
    changed: bool
    resolved: str = ""  # the commit, or the exact chart version, placed
    digest: str = ""  # the sha256 of the chart archive or downloaded file


Finish = Callable[[Path], None]


class VendorFolder(Protocol):
    """Where a vendor folder keeps the copy of a source (``vendor.Vendor``)."""

    @property
    def root(self) -> Path:
        """The folder."""
        ...

    def locate(self, url: str) -> str:
        """The ``file://`` URL of ``url``'s copy, or ''."""
        ...


class Fetcher(Protocol):
    """Make one source present at one path; everything the installer asks of a fetcher."""

    def place(self, request: Request, dest: Path, finish: Finish | None = None) -> Placed:
        """Fetch ``request`` (through the cache) and put it at ``dest``.

        ``finish`` runs on the complete new copy before it replaces ``dest``; when it raises,
        ``dest`` stays as it was.
        """
        ...

    def plan(self, requests: Sequence[Request]) -> list[Callable[[], None]]:
        """Jobs that answer several of ``requests`` at once (one git fetch per repository), to
        run before or while they are placed; ``place`` waits for their answers."""
        ...

    def prefetch(self, request: Request) -> object:
        """Bring ``request`` into the cache ahead of its ``place`` (a chart archive)."""
        ...


@dataclass
class SourceRun:
    """What the fetchers of one run share: settings, the cache, credentials, a once-per-run
    memo and the slots that bound running commands to ``-j``."""

    settings: Settings
    cache: Cache = field(default_factory=Cache.default)
    credentials: Credentials = field(default_factory=Credentials)
    mirrors: Mirrors = field(default_factory=Mirrors)
    vendor: VendorFolder | None = None
    warnings: list[Diagnostic] = field(default_factory=list)
    _memo: dict[object, Future[object]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _slots: threading.BoundedSemaphore | None = field(default=None, repr=False)
    _places: dict[str, threading.RLock] = field(default_factory=dict, repr=False)
    # File copies run one at a time: they are many small system calls, and threads copying
    # together only hand the GIL back and forth (most of a cold install's time went there).
    copying: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of ``settings.jobs`` slots while an external command runs.

        Fetch threads outnumber the slots, since most of them wait (for a lock, or for the same
        ref fetched by another thread); only running git and helm processes count against -j.
        """
        with self._lock:
            if self._slots is None:
                self._slots = threading.BoundedSemaphore(max(1, self.settings.jobs))
            slots = self._slots
        with slots:
            yield

    @contextlib.contextmanager
    def placing(self, dest: Path) -> Iterator[None]:
        """Hold ``dest`` while one source is placed there: two components that share a
        destination (the same name twice) take turns instead of racing on its folder."""
        key = os.path.normpath(os.path.abspath(dest))
        with self._lock:
            held = self._places.setdefault(key, threading.RLock())
        with held:
            yield

    def once(self, key: object, compute: Callable[[], T]) -> T:
        """Compute ``key`` once per run; concurrent and later callers share the result or error."""
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if owner:
                future = self._memo[key] = Future()
        assert future is not None
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()  # type: ignore[return-value]

    def promise(self, key: object) -> Future[object] | None:
        """Claim ``key`` for a result computed elsewhere (``once`` callers then wait for it);
        None when the key is already claimed."""
        with self._lock:
            if key in self._memo:
                return None
            future: Future[object] = Future()
            self._memo[key] = future
            return future

    def __post_init__(self) -> None:
        self.credentials.prefixes = self.mirrors.targets()

    def mask(self, text: str) -> str:
        """``text`` without any secret of this run."""
        return self.credentials.mask(text)

    def warn(self, component: str, message: str, code: str) -> None:
        """A warning about one component (each said once per run)."""
        item = Diagnostic("warning", message, None, component, code=code)
        with self._lock:
            if item not in self.warnings:
                self.warnings.append(item)

    def route(self, request: Request) -> Request:
        """``request`` with its source through the mirror map, then the vendor folder."""
        source = request.source
        hop = self.mirrors.rewrite(source)
        if hop.rewritten:
            self.once(
                ("mirror", request.component, source),
                lambda: log.debug("mirror: %s: %s", request.component, hop.explain()),
            )
            if hop.rules[0].builtin:
                self.once(("retired", hop.rules[0].prefix), lambda: _retired_notice(hop))
        elif self.mirrors.retired(source):
            self.warn(
                request.component,
                f"{redact_url(source)} is retired: its charts are at "
                f"{self.mirrors.retired(source)} (the built-in mirror rules are off)",
                "retired-url",
            )
        fetched = hop.url
        if self.vendor is not None:
            fetched = self.vendor.locate(source) or fetched
        mirror = hop.url if hop.rewritten else ""
        return replace(request, source=fetched, origin=source, mirror=mirror)

    def offline(self, request: Request) -> bool:
        """Whether ``request`` may not use the network (a local file:// source always may)."""
        return self.settings.offline and not request.source.lower().startswith("file://")

    def missing(self, request: Request, what: str) -> FetchError:
        """The error for a source that --offline (or --from) cannot find."""
        where = "the cache"
        if self.vendor is not None:
            where = f"the vendor folder {self.vendor.root} or the cache"
        return FetchError(
            f"{what} of {request.asked} is not in {where}, and --offline was given",
            cause="offline",
            component=request.component,
        )


def _retired_notice(hop: Rewrite) -> None:
    rule = hop.rules[0]
    through = f", through {redact_url(hop.url)}" if len(hop.rules) > 1 else ""
    log.info(
        "%s is retired: fetching it from %s%s (a built-in mirror rule; 'builtin: false' in "
        "mirrors.yaml or --no-builtin-mirrors turns it off)",
        rule.prefix,
        rule.to,
        through,
    )


@contextlib.contextmanager
def staging(dest: Path) -> Iterator[Path]:
    """A temp folder beside ``dest`` (same filesystem, so the swap is a rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.fab-", dir=dest.parent))
    try:
        yield temp
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def swap_in(new: Path, dest: Path) -> None:
    """Replace ``dest`` by the complete ``new`` copy; the old one is removed only afterwards."""
    replace_dir(new, dest)

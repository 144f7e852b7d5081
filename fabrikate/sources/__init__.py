"""The sources layer: make a remote source present at a path, from the shared cache.

    sources = Sources(settings)
    placed = sources.place(Request("infra/efk", "git", "https://host/efk.git", branch="main"),
                           Path("infra/components/efk"))
    print(placed.detail, placed.cached)

One fetcher per method (``git``, ``helm`` and OCI charts, ``http``) sits behind
``Fetcher.place``. The cache, the locks and the credentials live here and nowhere else. A
destination is replaced only once its new copy is complete (temp folder beside it, then swap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.settings import Settings
from fabrikate.sources.base import Fetcher, Finish, Placed, Request, SourceRun
from fabrikate.sources.mirrors import Mirrors
from fabrikate.support.cache import Cache

if TYPE_CHECKING:
    from fabrikate.sources.helm import HelmFetcher

__all__ = ["Fetcher", "Finish", "Placed", "Request", "Sources"]


@dataclass
class Sources(SourceRun):
    """The fetchers of one run, picked by method, sharing one ``SourceRun``."""

    _fetchers: dict[str, Fetcher] = field(default_factory=dict, repr=False)

    @classmethod
    def for_tree(cls, root: Path, settings: Settings, cache: Cache | None = None) -> Sources:
        """The fetchers of a run on the tree at ``root``: its mirror map, and the vendor
        folder ``settings.vendor`` names."""
        vendor = None
        if settings.vendor:
            from fabrikate.sources.vendor import Vendor

            vendor = Vendor.load(Path(settings.vendor))
        mirrors = Mirrors.load(root, settings)
        return cls(settings, cache=cache or Cache.of(settings), mirrors=mirrors, vendor=vendor)

    def fetcher(self, method: str) -> Fetcher:
        """The fetcher of a method (created on first use, so imports stay lazy)."""
        with self._lock:
            if method not in self._fetchers:
                self._fetchers[method] = self._make(method)
            return self._fetchers[method]

    def _make(self, method: str) -> Fetcher:
        if method == "git":
            from fabrikate.sources.git import GitFetcher

            return GitFetcher(self)
        if method == "helm":
            from fabrikate.sources.helm import HelmFetcher

            return HelmFetcher(self)
        if method == "http":
            from fabrikate.sources.http import HttpFetcher

            return HttpFetcher(self)
        raise ValueError(f"no fetcher for method {method!r}")

    def charts(self) -> HelmFetcher:
        """The helm fetcher, which also builds a chart's dependencies (``dependencies``)."""
        from fabrikate.sources.helm import HelmFetcher

        fetcher = self.fetcher("helm")
        assert isinstance(fetcher, HelmFetcher)
        return fetcher

    def place(self, request: Request, dest: Path, finish: Finish | None = None) -> Placed:
        """Make ``request`` present at ``dest`` (``finish``: see ``Fetcher.place``), one
        placement of a destination at a time."""
        with self.placing(dest):
            return self.fetcher(request.method).place(request, dest, finish)

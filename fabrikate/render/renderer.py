"""One component's documents, through the render cache and the generator of its type.

documents = Renderer(settings, cache).render(node, diagnostics)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fabrikate._version import __version__
from fabrikate.errors import Diagnostic, FabrikateError
from fabrikate.hld.resolve import ResolvedComponent
from fabrikate.render.documents import inject_namespace
from fabrikate.render.generators import Generator, generators
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest

if TYPE_CHECKING:
    from fabrikate.support.remotecache import RemoteCache

__all__ = ["Renderer"]


@dataclass
class Renderer:
    """Renders the components of one run with the generator of each one's type, reusing
    cached output whose inputs did not change (``Generator.key``).

    Containers produce nothing; generators whose key is None are never cached. A helm render
    the local cache misses is looked up in the ``remote`` cache, and pushed there once made.
    """

    settings: Settings
    cache: Cache | None = None
    remote: RemoteCache | None = None
    hits: int = 0
    misses: int = 0
    from_cache: set[str] = field(default_factory=set)  # components served by a cache entry
    _keys: dict[str, str | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    by_type: dict[str, Generator] = field(init=False)
    empty: bool = field(init=False)  # the render cache has no entry: nothing is looked up

    def __post_init__(self) -> None:
        self.by_type = generators(self.settings, self.cache)
        self.empty = self.cache is None or (
            self.remote is None and not self.cache.has_kind("render")
        )

    def ready(self, node: ResolvedComponent) -> bool:
        """Whether ``cached`` would serve the component (checked without reading the entry)."""
        generator = self.by_type.get(node.component.type)
        if generator is None:
            return True
        if self.cache is None or self.empty:
            return False
        try:
            key = self.key(node, generator)
        except FabrikateError:  # rendering it reports the problem, naming the component
            return False
        return key is not None and self.cache.has("render", key)

    def cached(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str] | None:
        """The documents of a component that needs no generator run (a container, or one
        whose output is in the render cache); None when it must be rendered."""
        generator = self.by_type.get(node.component.type)
        if generator is None:
            return []
        if self.cache is None:
            return None
        key = self.key(node, generator)
        if key is None:
            return None
        entry = _entry(self.cache.get("render", key))
        if entry is None and self.remote is not None and node.component.type == "helm":
            entry = self.pulled(key)
        if entry is None:  # missing or damaged: rendered again
            return None
        diagnostics.extend(Diagnostic("warning", w, component=node.id) for w in entry["warnings"])
        with self._lock:
            self.hits += 1
            self.from_cache.add(node.id)
        return entry["documents"]

    def pulled(self, key: str) -> dict[str, list[str]] | None:
        """The entry ``key`` of the remote cache, kept in the local one."""
        assert self.remote is not None and self.cache is not None
        blob = self.remote.pull(key)
        entry = _entry(blob)
        if blob is not None and entry is not None:
            self.cache.put("render", key, blob)
        return entry

    def render(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
        """The documents of one component."""
        generator = self.by_type.get(node.component.type)
        if generator is None:
            return []
        if self.cache is None:
            return generator.documents(node, diagnostics)
        # An empty cache is not searched: the key (which may ask helm its version) is only
        # needed for the new entry, once helm has run.
        key = None if self.empty else self.key(node, generator)
        if key is not None:
            ready = self.cached(node, diagnostics)
            if ready is not None:
                return ready
        found: list[Diagnostic] = []
        started = time.perf_counter()
        documents = generator.documents(node, found)
        generator.took(node, time.perf_counter() - started)
        diagnostics.extend(found)
        key = key or self.key(node, generator)
        if key is None:
            return documents
        entry = {"documents": documents, "warnings": [d.message for d in found]}
        blob = json.dumps(entry).encode()
        self.cache.put("render", key, blob)
        if self.remote is not None and node.component.type == "helm":
            self.remote.push(key, blob)
        with self._lock:
            self.misses += 1
        return documents

    def inject(self, documents: list[str], namespace: str, scoped: frozenset[str]) -> list[str]:
        """``inject_namespace`` over documents, remembered in the cache."""
        if self.cache is None:
            return [inject_namespace(doc, namespace, scoped) for doc in documents]
        key = digest("inject", __version__, namespace, *sorted(scoped), *documents)
        cached = _strings(_json(self.cache.get("inject", key)))
        if cached is not None and len(cached) == len(documents):
            return cached
        injected = [inject_namespace(doc, namespace, scoped) for doc in documents]
        self.cache.put("inject", key, json.dumps(injected).encode())
        return injected

    def cost(self, node: ResolvedComponent) -> float:
        """About how many seconds rendering ``node`` takes (0 for a container)."""
        generator = self.by_type.get(node.component.type)
        return generator.cost(node) if generator is not None else 0.0

    def remember(self) -> None:
        """Keep what the generators learnt of this run (how long each render took)."""
        for generator in self.by_type.values():
            generator.remember()

    def key(self, node: ResolvedComponent, generator: Generator) -> str | None:
        """The render cache key of a component (None: never cached), computed once per run."""
        if node.id not in self._keys:
            self._keys[node.id] = generator.key(node)
        return self._keys[node.id]


def _json(blob: bytes | None) -> Any:
    """The JSON value of a cache entry; None when there is none or it is not JSON."""
    try:
        return None if blob is None else json.loads(blob)
    except ValueError:  # not UTF-8, or not JSON: a damaged entry is a miss
        return None


def _strings(value: Any) -> list[str] | None:
    """``value`` if it is a list of strings, else None."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _entry(blob: bytes | None) -> dict[str, list[str]] | None:
    """A render cache entry, its documents and warnings; None when it is not one."""
    entry = _json(blob)
    if not isinstance(entry, dict):
        return None
    documents, warnings = _strings(entry.get("documents")), _strings(entry.get("warnings"))
    if documents is None or warnings is None:
        return None
    return {"documents": documents, "warnings": warnings}

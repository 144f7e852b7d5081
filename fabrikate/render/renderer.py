"""One component's documents, through the render cache.

    documents = Renderer(settings, cache).render(node, diagnostics)

``helm`` runs ``helm template``; ``static`` reads manifest files; containers produce nothing.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field

from fabrikate._version import __version__
from fabrikate.errors import Diagnostic, FabrikateError
from fabrikate.hld import layout
from fabrikate.hld.resolve import ResolvedComponent
from fabrikate.render.documents import inject_namespace
from fabrikate.render.helm import HELM_FLAGS, HELM_OUTPUT_FORMAT, helm_template
from fabrikate.render.static import static_documents
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest
from fabrikate.support.fsutil import read_regular
from fabrikate.support.helm import Helm, version

__all__ = ["Renderer"]


@dataclass
class Renderer:
    """Renders the components of one run, reusing cached output whose inputs did not change.

    A helm component's cache key covers everything that can change its output: the chart's
    files, the merged values, namespace, release name, helm's version and flags, and fab's
    version. Static and container components are cheap to read and are never cached.
    """

    settings: Settings
    cache: Cache | None = None
    hits: int = 0
    misses: int = 0
    _charts: dict[str, str] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict)
    _helm_version: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    helm: Helm = field(init=False)

    def __post_init__(self) -> None:
        # Without a render cache, helm's homes are still in fab's cache folder.
        self.helm = Helm.of(self.settings, self.cache or Cache.default())

    def ready(self, node: ResolvedComponent) -> bool:
        """Whether ``cached`` would serve the component (checked without reading the entry)."""
        if node.component.type not in ("helm", "static"):
            return True
        if node.component.type != "helm" or self.cache is None:
            return False
        try:
            return self.cache.has("render", self.key(node, _chart(node)))
        except FabrikateError:  # rendering it reports the problem, naming the component
            return False

    def cached(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str] | None:
        """The documents of a component that needs no helm run (a container, or a helm
        component whose output is in the render cache); None when it must be rendered."""
        if node.component.type not in ("helm", "static"):
            return []
        if node.component.type != "helm" or self.cache is None:
            return None
        cached = self.cache.get("render", self.key(node, _chart(node)))
        if cached is None:
            return None
        entry = json.loads(cached)
        diagnostics.extend(Diagnostic("warning", w, component=node.id) for w in entry["warnings"])
        with self._lock:
            self.hits += 1
        return entry["documents"]

    def render(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
        """The documents of one component."""
        if node.component.type == "static":
            return static_documents(node, diagnostics)
        ready = self.cached(node, diagnostics)
        if ready is not None:
            return ready
        chart = _chart(node)
        if self.cache is None:
            layout.chart_files(chart)  # helm follows links: check them before it runs
            return helm_template(node, chart.path, self.helm, diagnostics)
        key = self.key(node, chart)
        found: list[Diagnostic] = []
        documents = helm_template(node, chart.path, self.helm, found)
        diagnostics.extend(found)
        entry = {"documents": documents, "warnings": [d.message for d in found]}
        self.cache.put("render", key, json.dumps(entry).encode())
        with self._lock:
            self.misses += 1
        return documents

    def inject(self, documents: list[str], namespace: str, scoped: frozenset[str]) -> list[str]:
        """``inject_namespace`` over documents, remembered in the cache."""
        if self.cache is None:
            return [inject_namespace(doc, namespace, scoped) for doc in documents]
        key = digest("inject", __version__, namespace, *sorted(scoped), *documents)
        cached = self.cache.get("inject", key)
        if cached is not None:
            return json.loads(cached)
        injected = [inject_namespace(doc, namespace, scoped) for doc in documents]
        self.cache.put("inject", key, json.dumps(injected).encode())
        return injected

    def key(self, node: ResolvedComponent, chart: layout.Chart) -> str:
        """The render cache key of a helm component, computed once per run."""
        found = self._keys.get(node.id)
        if found is None:
            found = self._keys[node.id] = self._key(node, chart)
        return found

    def _key(self, node: ResolvedComponent, chart: layout.Chart) -> str:
        values = json.dumps(node.config.config, sort_keys=True, ensure_ascii=False, default=str)
        return digest(
            "helm-template",
            __version__,
            self.helm_version(),
            self.chart_digest(chart),
            values,
            node.namespace,
            node.name,
            " ".join(HELM_FLAGS),
            HELM_OUTPUT_FORMAT,
        )

    def chart_digest(self, chart: layout.Chart) -> str:
        """A digest of every file of a chart, computed once per run and chart folder (however
        many paths lead to it: ``a/../charts/x`` and ``b/../charts/x``)."""
        real = os.path.realpath(chart.path)
        found = self._charts.get(real)
        if found is None:
            found = self._charts[real] = _tree_digest(chart)
        return found

    def helm_version(self) -> str:
        """``helm version --short`` of the configured binary, remembered by the binary's stat."""
        with self._lock:
            if self._helm_version is None:
                self._helm_version = version(self.settings.helm, self.cache)
            return self._helm_version


def _chart(node: ResolvedComponent) -> layout.Chart:
    """The chart of a helm component, which must be there and pass the layout's checks."""
    return layout.checked_chart(node)


def _tree_digest(chart: layout.Chart) -> str:
    """A digest of every file helm would read from the chart (each checked first)."""
    parts: list[bytes | str] = []
    for rel, path in layout.chart_files(chart):
        parts.append(rel)
        parts.append(read_regular(path))
    return digest(*parts)

"""A whole tree rendered on one pool, helm runs starting while the walk goes on.

with Pool(jobs=2) as pool:
    renders = TreeRender(settings, Renderer(settings, cache), pool)
    tree = walk(root, ["prod"], found=renders.offer)
    results = renders.finish(tree)
inject_namespaces(results, renderer)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from fabrikate.errors import Diagnostic, FabrikateError, component_context
from fabrikate.hld import layout
from fabrikate.hld.hooks import has_generate_hooks, run_hooks
from fabrikate.hld.resolve import ResolvedComponent, Tree
from fabrikate.render.documents import cluster_scoped_kinds
from fabrikate.render.renderer import Renderer
from fabrikate.settings import Settings
from fabrikate.support.parallel import Pool
from fabrikate.support.progress import Event, Progress
from fabrikate.support.text import plural

__all__ = ["ComponentResult", "TreeRender", "inject_namespaces", "injected", "input_paths"]


@dataclass
class ComponentResult:
    """One rendered component, with what rendering it noticed."""

    node: ResolvedComponent
    documents: list[str]
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Logical path plus name."""
        return self.node.id

    @property
    def file(self) -> str:
        """The output file, relative to the output folder."""
        return f"{self.node.id}.yaml"


@dataclass
class TreeRender:
    """Renders a tree on ``pool``: a helm component the cache cannot serve starts as soon as the
    walk finds it (``offer``), so helm runs while the rest of the tree is read; ``finish``
    renders the rest and returns every component in tree order (namespaces not injected yet).

    Cache hits are served by one task beside the helm runs, so reading the cache overlaps them.
    """

    settings: Settings
    renderer: Renderer
    pool: Pool
    started: dict[str, Future[ComponentResult | Exception]] = field(default_factory=dict)
    served: set[str] = field(default_factory=set)  # needing no helm run, file read or hook
    progress: Progress | None = None
    # Hears, on its worker, of each component whose documents are final once rendered (no
    # namespace to inject), so that what a record says of them is worked out while helm runs.
    rendered: Callable[[ComponentResult], None] | None = None

    def offer(self, node: ResolvedComponent) -> None:
        """Sort ``node`` as the walk places it: served by the cache, or a helm run started now.
        A component with generate hooks waits for ``visit``."""
        if has_generate_hooks(node):
            return
        if self.renderer.ready(node):
            self.served.add(node.id)
        elif node.component.type == "helm":
            cost = self.renderer.cost(node)  # the longest start first
            self.started[node.id] = self.pool.submit(self.one, node, cost=cost)

    def visit(self, node: ResolvedComponent) -> None:
        """The walk's visit of a component with generate hooks (``hooked``): it is rendered,
        hooks and all, before its children are read, as Fabrikate did (a hook may create their
        folders). A failure is the walk's: it skips the subtree."""
        done: Future[ComponentResult | Exception] = Future()
        done.set_result(self.one(node))
        self.started[node.id] = done

    @staticmethod
    def hooked(node: ResolvedComponent) -> bool:
        """Whether ``node`` has generate hooks, and so is rendered by ``visit``."""
        return has_generate_hooks(node)

    def one(self, node: ResolvedComponent) -> ComponentResult:
        """Render one component, with its hooks."""
        started = time.perf_counter()
        result = ComponentResult(node, [])
        shown = self.progress is not None and node.component.type in self.renderer.by_type
        if shown:
            self.tell(Event(node.id, "rendering"))
        try:
            with component_context(node.id):
                run_hooks(node, "before-generate", self.settings)
                result.documents = self.renderer.render(node, result.diagnostics)
                run_hooks(node, "after-generate", self.settings)
        except FabrikateError as exc:
            if shown:
                self.tell(Event(node.id, "failed", str(exc)))
            raise
        result.seconds = time.perf_counter() - started
        if self.rendered is not None and not injected(node):
            self.rendered(result)
        if shown:
            count = plural(len(result.documents), "document")
            self.tell(Event(node.id, "done", count, cached=node.id in self.renderer.from_cache))
        return result

    def tell(self, event: Event) -> None:
        """Report progress (``progress`` is set)."""
        assert self.progress is not None
        self.progress(event)

    def finish(self, tree: Tree) -> list[ComponentResult | Exception]:
        """Every component of ``tree`` rendered, in tree order: each result or its failure.
        Components whose visit failed are left out (the walk reported them)."""
        nodes = [
            n for n in tree.components if not (has_generate_hooks(n) and n.id not in self.started)
        ]
        hits = [n for n in nodes if n.id in self.served]
        rest = [n for n in nodes if n.id not in self.served and n.id not in self.started]
        futures = dict(self.started)
        batch = None
        for node in [*rest[:1], None, *rest[1:]] if hits else rest:
            if node is None:
                batch = self.pool.submit(self.serve, hits)
            else:
                futures[node.id] = self.pool.submit(self.one, node)
        self.pool.wait()
        from_cache = batch.result() if batch is not None else {}
        return [
            futures[n.id].result() if n.id in futures else _pick(from_cache, n.id) for n in nodes
        ]

    def serve(self, hits: list[ResolvedComponent]) -> dict[str, ComponentResult]:
        """Components the cache serves, one after another (threads would only slow them)."""
        return {node.id: self.one(node) for node in hits}


def _pick(batch: dict[str, ComponentResult] | Exception, key: str) -> ComponentResult | Exception:
    return batch if isinstance(batch, Exception) else batch[key]


def inject_namespaces(results: list[ComponentResult], renderer: Renderer) -> None:
    """Inject namespaces once every CRD of the tree is known (their scope decides)."""
    targets = [r for r in results if injected(r.node)]
    if not targets:
        return
    scoped = cluster_scoped_kinds((doc for r in results for doc in r.documents), renderer.cache)
    for item in targets:
        with component_context(item.id):
            item.documents = renderer.inject(item.documents, item.node.config.namespace, scoped)


def injected(node: ResolvedComponent) -> bool:
    """Whether ``node``'s documents get its namespace once the whole tree is rendered."""
    return node.component.type == "helm" and node.config.injects


def input_paths(tree: Tree) -> list[Path]:
    """Every folder a generation of ``tree`` reads: component folders, charts, manifests."""
    paths = []
    for node in tree.components:
        paths.append(node.physical_path)
        if node.component.type == "helm":
            paths.append(layout.chart_dir(node))
        elif node.component.type == "static":
            paths.append(layout.static_dir(node))
    return paths

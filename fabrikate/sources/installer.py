"""``fab install``: fetch every remote component of a tree, in parallel, through the cache.

    result = install(Path("hld"), Settings.from_env(jobs=8))
    for failure in result.failures:
        print(failure)

The tree is walked with no environments (only ``common`` config, spec §1.3), and each
component is installed before its children are read, so a clone can hold their definitions.
Every failure is collected; a failed component keeps its earlier installed copy.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from fabrikate.errors import (
    Diagnostic,
    FabrikateError,
    InputError,
    Location,
    SourceError,
    component_context,
)
from fabrikate.hld import installs, layout
from fabrikate.hld.hooks import run_hooks
from fabrikate.hld.layout import check_name
from fabrikate.hld.model import Component
from fabrikate.hld.resolve import ResolvedComponent, child_id, walk
from fabrikate.settings import Settings
from fabrikate.sources import Finish, Placed, Request, Sources
from fabrikate.sources.credentials import ACCESS_FILE
from fabrikate.support.cache import Cache
from fabrikate.support.parallel import Pool
from fabrikate.support.progress import Event, Progress

__all__ = ["InstallResult", "Installed", "install"]

log = logging.getLogger("fabrikate")


@dataclass(frozen=True)
class Installed:
    """One source placed in the tree."""

    component: str
    method: str
    source: str  # credentials removed
    dest: Path
    detail: str  # the commit, or the chart and version
    cached: bool  # the cache answered without any network
    changed: bool  # the installed copy was replaced


@dataclass
class InstallResult:
    """What ``install`` did: sources placed, components visited, and every failure."""

    root: Path
    installed: list[Installed] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    failures: list[FabrikateError] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    @property
    def cache_hits(self) -> int:
        """Sources served from the cache without the network."""
        return sum(1 for item in self.installed if item.cached)

    @property
    def changed(self) -> int:
        """Installed copies that were replaced."""
        return sum(1 for item in self.installed if item.changed)


@dataclass
class _Installer:
    root: Path
    settings: Settings
    sources: Sources
    pool: Pool
    progress: Progress | None
    result: InstallResult
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failed_ids: set[str] = field(default_factory=set)

    def emit(self, event: Event) -> None:
        if self.progress is not None:
            self.progress(event)

    def fail(self, component: str, error: FabrikateError) -> None:
        if error.component is None:
            error.component = component
        error.message = self.sources.mask(error.message)
        with self._lock:
            self.result.failures.append(error)
            self._failed_ids.add(component)
        self.emit(Event(component, "failed", str(error)))

    def visit(self, node: ResolvedComponent) -> None:
        """Install one component: hooks, its git subcomponents, then its own chart or file."""
        if node.pointer:
            self.visit_pointer(node)
            return
        self.credentials(node)
        self.hook(node, "before-install")
        clones = [
            sub
            for sub in node.component.subcomponents
            if sub.is_directory
            and sub.method == "git"
            and not check_name(sub.name)  # the walk reports it; it must not become a path
            and not node.config.sub(sub.name).disabled
        ]
        git = self.sources.fetcher("git")
        for batch in git.plan([_request(child_id(node, sub.name), sub) for sub in clones]):
            self.pool.submit(batch)
        jobs = [(child_id(node, sub.name), self.submit_clone(node, sub)) for sub in clones]
        self.prefetch_charts(node)
        own = self.submit_own(node)
        for name, future in jobs:
            error = future.result()
            if isinstance(error, FabrikateError):
                self.fail(name, error)
            elif isinstance(error, Exception):
                raise error
        if own is not None and isinstance(failed := own.result(), Exception):
            raise failed
        self.hook(node, "after-install")
        with self._lock:
            self.result.visited.append(node.id)

    def prefetch_charts(self, node: ResolvedComponent) -> None:
        """Start pulling inline children's charts into the cache while the clones run."""
        for sub in node.component.subcomponents:
            wanted = sub.type == "helm" and sub.method == "helm" and sub.source and sub.path
            if wanted and not node.config.sub(sub.name).disabled:
                inline_id = child_id(node, sub.name)
                helm = self.sources.fetcher("helm")
                self.pool.submit(helm.prefetch, _request(inline_id, sub))

    def visit_pointer(self, node: ResolvedComponent) -> None:
        """A root that points at a remote definition (spec §2.6): clone it first."""
        if check_name(node.name):  # the walk reports it; it must not become a path
            return
        self.credentials(node)
        self.hook(node, "before-install")
        dest = layout.own_folder(layout.clone_dir(self.root, node.name), self.root)
        self.place(node.id, _request(node.id, node.component), dest)
        self.hook(node, "after-install")

    def credentials(self, node: ResolvedComponent) -> None:
        """Read the ``access.yaml`` of a local component; a fetched one's is ignored, loudly:
        another team's repository may not choose where the user's tokens are sent."""
        path = node.physical_path / ACCESS_FILE
        if not node.remote:
            self.sources.credentials.load(node.physical_path, node.id)
        elif os.path.lexists(path):
            warning = Diagnostic(
                "warning",
                "access.yaml of a fetched definition is ignored: tokens are mapped only by the "
                "local tree's access.yaml files",
                Location(str(path)),
                node.id,
            )
            with self._lock:
                self.result.warnings.append(warning)

    def hook(self, node: ResolvedComponent, event: str) -> None:
        run_hooks(node, event, self.settings)

    def submit_clone(self, parent: ResolvedComponent, sub: Component) -> Future[Placed | Exception]:
        name = child_id(parent, sub.name)
        try:
            dest = layout.own_folder(
                layout.clone_dir(parent.physical_path, sub.name), parent.physical_path
            )
        except FabrikateError as exc:
            failed: Future[Placed | Exception] = Future()
            failed.set_result(exc)
            return failed
        return self.pool.submit(self.place, name, _request(name, sub), dest)

    def submit_own(self, node: ResolvedComponent) -> Future[object] | None:
        component = node.component
        if check_name(component.name):  # the walk reports it; it must not become a path
            return None
        if component.type == "helm" and component.method in ("helm", "git"):
            if not component.source or not component.path:
                return None
            return self.pool.submit(self.install_chart, node)
        if component.type == "static" and component.method.lower() == "http":
            if not component.source.lower().endswith((".yaml", ".yml")):
                raise InputError(
                    f"source for 'static' component {component.name!r} must end in .yaml or "
                    f".yml; given: {self.sources.mask(component.source)!r}",
                    location=component.location,
                )
            file = layout.http_static_file(node.physical_path, component.name)
            dest = layout.own_folder(file, node.physical_path)
            request = _request(node.id, component, method="http")
            return self.pool.submit(self.place, node.id, request, dest)
        return None

    def install_chart(self, node: ResolvedComponent) -> None:
        with component_context(node.id):
            component = node.component
            fetched = layout.chart_clone_dir(node.physical_path, component.name)
            dest = layout.own_folder(fetched, node.physical_path)
            layout.own_folder(installs.stamp_file(dest, component.method), node.physical_path)
            finish = self.chart_dependencies(node) if component.method == "git" else None
            request = _request(node.id, component)
            self.place(node.id, request, dest, finish)
            if finish is not None:  # an unchanged checkout, asked for another path
                _chart_in(dest, request, self.sources.mask)

    def chart_dependencies(self, node: ResolvedComponent) -> Finish:
        """Check that a git chart's path is a chart, and build its dependencies, in its new
        copy: a failure keeps the earlier copy."""
        helm = self.sources.charts()
        request = _request(node.id, node.component)

        def build(new: Path) -> None:
            chart = layout.Chart(layout.join_path(new, node.component.path), new, "its clone")
            layout.confine(chart.path, new, "chart path", "its clone")
            _chart_in(new, request, self.sources.mask)
            layout.chart_files(chart)  # helm writes into charts/: never through a link
            helm.dependencies(chart.path, node.id)

        return build

    def place(
        self, component: str, request: Request, dest: Path, finish: Finish | None = None
    ) -> Placed:
        with component_context(component):
            verb = "reading" if self.settings.offline else "fetching"
            self.emit(Event(component, verb, request.shown))
            started = time.perf_counter()
            placed = self.sources.place(request, dest, finish)
            log.debug("%s: %.2fs", component, time.perf_counter() - started)
        item = Installed(
            component,
            request.method,
            request.shown,
            dest,
            placed.detail,
            placed.cached,
            placed.changed,
        )
        with self._lock:
            self.result.installed.append(item)
        state = "done" if placed.changed else "unchanged"
        self.emit(Event(component, state, placed.detail, placed.cached))
        return placed

    def merge_walk_errors(self, diagnostics: list[Diagnostic]) -> None:
        """Add the walk's errors (failed visits, unreadable definitions) to the failures."""
        for item in diagnostics:
            # A component whose install failed is reported once, not again by the walk.
            if item.level == "error" and item.component not in self._failed_ids:
                self.fail(item.component or ".", item.as_error())


def _chart_in(checkout: Path, request: Request, mask: Callable[[str], str]) -> None:
    """A git chart's ``path`` must be a chart folder of its checkout."""
    if not (layout.join_path(checkout, request.path) / "Chart.yaml").is_file():
        ref = request.version or request.branch or "the default branch"
        raise SourceError(
            mask(f"chart path {request.path!r} is not in {request.shown} at {ref}: no Chart.yaml"),
            component=request.component,
        )


def _request(component_id: str, component: Component, method: str = "") -> Request:
    return Request(
        component_id,
        method or component.method,
        component.source,
        path=component.path,
        version=component.version,
        branch=component.branch,
    )


def install(
    path: str | Path = ".",
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
    cache: Cache | None = None,
) -> InstallResult:
    """Fetch every remote component of the tree at ``path``; failures are in the result."""
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    root = Path(path)
    result = InstallResult(root)
    sources = Sources(settings, cache=cache or Cache.default())
    jobs = max(1, settings.jobs)
    # Threads mostly wait; Sources.slot bounds the running git and helm processes to -j.
    with Pool(min(64, 8 * jobs)) as pool:
        installer = _Installer(root, settings, sources, pool, progress, result)
        try:
            tree = walk(
                root,
                (),
                visit=installer.visit,
                jobs=jobs,
                allow_outside_root=settings.allow_outside_root,
                keep_going=True,
                check_installs=False,  # what install replaces may well be stale
            )
        except FabrikateError as exc:
            installer.fail(exc.component or ".", exc)
        else:
            result.disabled = list(tree.disabled)
            installer.merge_walk_errors(tree.diagnostics)
    result.installed.sort(key=lambda item: item.component)
    result.seconds = time.perf_counter() - started
    return result

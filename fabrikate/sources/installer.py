"""``fab install``: fetch every remote component of a tree, in parallel, through the cache.

    result = install(Path("hld"), Settings.from_env(jobs=8))
    for failure in result.failures:
        print(failure)

The tree is walked with no environments (only ``common`` config, spec §1.3), and each
component is installed before its children are read, so a clone can hold their definitions.
Every failure is collected; a failed component keeps its earlier installed copy.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
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
from fabrikate.sources.lockfile import LOCK_FILE, Dependency, Entry, Lock
from fabrikate.sources.mirrors import Mirrors
from fabrikate.support.cache import Cache
from fabrikate.support.parallel import Pool
from fabrikate.support.progress import Event, Progress
from fabrikate.support.redact import redact_url

__all__ = ["InstallResult", "Installed", "Locking", "install"]

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
    mirror: str = ""  # the URL the mirror map fetched it from, when not ``source``


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
    lock: Lock | None = None  # the lock this install wrote (or, --locked, followed)
    lock_written: bool = False  # the lock file changed

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


@dataclass(frozen=True)
class Locking:
    """How install treats ``fabrikate.lock``: ``locked`` installs exactly it (and never writes
    it); ``update`` relocks the components it names (an empty set: every one)."""

    locked: bool = False
    update: frozenset[str] | None = None

    def updates(self, component_id: str, name: str) -> bool:
        """Whether the component is to be resolved again."""
        if self.update is None:
            return False
        return not self.update or bool({component_id, name} & self.update)


@dataclass
class _Installer:
    root: Path
    settings: Settings
    sources: Sources
    pool: Pool
    progress: Progress | None
    result: InstallResult
    locking: Locking = field(default_factory=Locking)
    old: Lock | None = None
    new: dict[str, Entry] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # --locked: why, by component
    updated: set[str] = field(default_factory=set)  # --update names that matched
    hook_env: dict[str, str] = field(default_factory=dict)
    charts: dict[str, bool] = field(default_factory=dict)  # whether each component is a chart
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
        charts = [  # git charts: fetched with the clones of their repositories
            sub
            for sub in node.component.subcomponents
            if sub.type == "helm"
            and sub.method == "git"
            and sub.source
            and sub.path
            and not check_name(sub.name)
            and not node.config.sub(sub.name).disabled
        ]
        requests = [self.request(child_id(node, sub.name), sub) for sub in clones + charts]
        for batch in git.plan([r for r in requests if r.component not in self.refused]):
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
                request = self.request(child_id(node, sub.name), sub)
                if request.component not in self.refused:
                    self.pool.submit(self.sources.fetcher("helm").prefetch, request)

    def visit_pointer(self, node: ResolvedComponent) -> None:
        """A root that points at a remote definition (spec §2.6): clone it first."""
        if check_name(node.name):  # the walk reports it; it must not become a path
            return
        self.credentials(node)
        self.hook(node, "before-install")
        dest = layout.own_folder(layout.clone_dir(self.root, node.name), self.root)
        self.place(node.id, self.request(node.id, node.component), dest)
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
        run_hooks(node, event, self.settings, self.hook_env)

    def request(self, component_id: str, component: Component, method: str = "") -> Request:
        """What to fetch for a component: its source through the mirror map, pinned to what
        fabrikate.lock holds while the definition still asks for the same thing."""
        request = self.sources.route(_request(component_id, component, method))
        chart = component.type == "helm"
        with self._lock:
            self.charts[component_id] = chart
        wanted = _entry(request, chart, Placed("", False, False))
        old = self.old.entries.get(component_id) if self.old is not None else None
        if self.locking.updates(component_id, component.name):
            with self._lock:
                self.updated.update({component_id, component.name})
            return request
        if old is not None and old.asks == wanted.asks:
            return replace(request, pin=old.pin, digest=old.digest)
        if self.locking.locked:
            if old is not None:
                why = (
                    f"fabrikate.lock has {old.describe()} but the definition asks for "
                    f"{wanted.describe()}: run fab install to relock"
                )
            elif self.old is not None and self.old.exists:
                why = "it is not in fabrikate.lock: run fab install to relock"
            else:
                why = f"there is no {LOCK_FILE} beside the root definition: run fab install"
            with self._lock:
                self.refused[component_id] = why
        return request

    def dependency_pins(self, component_id: str, request: Request) -> dict[str, Dependency]:
        """A git chart's locked dependencies, while the chart itself is locked."""
        old = self.old.entries.get(component_id) if self.old is not None else None
        if old is None or not request.pin:
            return {}
        return {dep.name: dep for dep in old.dependencies}

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
        return self.pool.submit(self.place, name, self.request(name, sub), dest)

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
            request = self.request(node.id, component, method="http")
            return self.pool.submit(self.place, node.id, request, dest)
        return None

    def install_chart(self, node: ResolvedComponent) -> None:
        with component_context(node.id):
            component = node.component
            fetched = layout.chart_clone_dir(node.physical_path, component.name)
            dest = layout.own_folder(fetched, node.physical_path)
            layout.own_folder(installs.stamp_file(dest, component.method), node.physical_path)
            request = self.request(node.id, component)
            if component.method != "git":
                self.place(node.id, request, dest)
                return
            deps: list[list[Dependency]] = []
            finish = self.chart_dependencies(node, request, deps)
            self.place(node.id, request, dest, finish, deps)
            _chart_in(dest, request, self.sources.mask)  # an unchanged checkout, another path
            chart_yaml = layout.join_path(dest, component.path) / "Chart.yaml"
            self.sources.charts().deprecation(request, "", chart_yaml)

    def chart_dependencies(
        self, node: ResolvedComponent, request: Request, fetched: list[list[Dependency]]
    ) -> Finish:
        """Check that a git chart's path is a chart, and fetch its dependencies, in its new
        copy: a failure keeps the earlier copy."""
        helm = self.sources.charts()
        pins = self.dependency_pins(node.id, request)

        def build(new: Path) -> None:
            chart = layout.Chart(layout.join_path(new, node.component.path), new, "its clone")
            layout.confine(chart.path, new, "chart path", "its clone")
            _chart_in(new, request, self.sources.mask)
            layout.chart_files(chart)  # dependencies go into charts/: never through a link
            fetched.append(helm.dependencies(chart.path, new, request, pins))

        return build

    def place(
        self,
        component: str,
        request: Request,
        dest: Path,
        finish: Finish | None = None,
        fetched: list[list[Dependency]] | None = None,
    ) -> Placed:
        with component_context(component):
            if component in self.refused:
                raise SourceError(f"--locked: {self.refused[component]}")
            verb = "reading" if self.settings.offline else "fetching"
            self.emit(Event(component, verb, request.shown))
            started = time.perf_counter()
            with self.sources.placing(dest):  # its note too: a same-named sibling waits
                placed = self.sources.place(request, dest, finish)
                deps = _dependencies(dest, fetched) if fetched is not None else ()
            log.debug("%s: %.2fs", component, time.perf_counter() - started)
        item = Installed(
            component,
            request.method,
            request.asked,
            dest,
            placed.detail,
            placed.cached,
            placed.changed,
            redact_url(request.mirror),
        )
        entry = _entry(request, self.charts.get(component, False), placed, deps)
        with self._lock:
            self.result.installed.append(item)
            self.new[component] = entry
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


def _entry(
    request: Request, chart: bool, placed: Placed, dependencies: tuple[Dependency, ...] = ()
) -> Entry:
    """The lock entry of a placed request (with an empty ``placed``: what it asks for).

    Only a chart's ``path`` is kept: a git component's folder does not change what is fetched.
    """
    return Entry(
        method=request.method,
        source=request.asked,
        path=request.path if chart else "",
        version=request.version,
        branch=request.branch,
        commit=placed.resolved if request.method == "git" else "",
        chart_version=placed.resolved if request.method == "helm" else "",
        digest=placed.digest,
        mirror=redact_url(request.mirror),
        dependencies=dependencies,
    )


def _dependencies(dest: Path, fetched: list[list[Dependency]]) -> tuple[Dependency, ...]:
    """A git chart's dependencies: those just fetched (kept in the install note), else (an
    unchanged copy) those the note holds."""
    note = installs.read(dest, "git")
    if note is None:
        return ()
    if fetched:
        deps = tuple(fetched[-1])
        text = json.dumps([asdict(d) for d in deps], sort_keys=True) if deps else ""
        if note.dependencies != text:
            installs.write(dest, "git", note._replace(dependencies=text))
        return deps
    try:
        listed = json.loads(note.dependencies) if note.dependencies else []
        return tuple(Dependency(**item) for item in listed)
    except (ValueError, TypeError):
        return ()


def _request(component_id: str, component: Component, method: str = "") -> Request:
    return Request(
        component_id,
        method or component.method,
        component.source,
        path=component.path,
        version=component.version,
        branch=component.branch,
        private=bool(component.hooks),
    )


def install(
    path: str | Path = ".",
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
    cache: Cache | None = None,
    locking: Locking | None = None,
) -> InstallResult:
    """Fetch every remote component of the tree at ``path``; failures are in the result.

    fabrikate.lock beside the root definition pins what each component resolved to; it is
    written when the whole install succeeded (never with ``locking.locked``).
    """
    settings = settings or Settings.from_env()
    locking = locking or Locking()
    started = time.perf_counter()
    root = Path(path)
    result = InstallResult(root)
    try:
        sources = Sources.for_tree(root, settings, cache)
        old = Lock.read(root)
    except FabrikateError as exc:
        result.failures.append(exc)
        return result
    jobs = max(1, settings.jobs)
    # Threads mostly wait; Sources.slot bounds the running git and helm processes to -j.
    with Pool(min(64, 8 * jobs)) as pool:
        installer = _Installer(root, settings, sources, pool, progress, result, locking, old)
        installer.hook_env = _hook_environment(sources.mirrors)
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
    result.warnings.extend(w for w in sources.warnings if w not in result.warnings)
    _finish_lock(installer, old)
    result.installed.sort(key=lambda item: item.component)
    result.seconds = time.perf_counter() - started
    return result


def _hook_environment(mirrors: Mirrors) -> dict[str, str]:
    """What install hooks get of the mirror map: its rules as git ``insteadOf`` settings (a
    ``git clone`` in a hook goes through the mirrors) and ``FAB_MIRRORS``, the file."""
    from fabrikate.sources.git import config_env

    env = config_env(mirrors.git_config())
    if mirrors.file:
        env["FAB_MIRRORS"] = str(Path(mirrors.file).absolute())
    return env


def _finish_lock(installer: _Installer, old: Lock) -> None:
    """--locked: the lock must hold every component and nothing else. Otherwise, after a
    whole install, write what was placed (a lock that exists is kept up to date even when
    nothing remote is left)."""
    result, locking = installer.result, installer.locking
    for name in sorted((locking.update or frozenset()) - installer.updated):
        result.failures.append(SourceError(f"--update {name}: no component of the tree has it"))
    if locking.locked:
        result.lock = old
        visited = set(installer.new) | installer._failed_ids
        for name in sorted(set(old.entries) - visited - set(result.disabled)):
            result.failures.append(
                SourceError(
                    "--locked: fabrikate.lock pins it, but the tree no longer has it: run fab "
                    "install to relock",
                    component=name,
                )
            )
        return
    if result.failures or not (installer.new or old.exists):
        return
    lock = Lock(old.path, dict(installer.new), old.exists)
    result.lock = lock
    result.lock_written = lock.write()

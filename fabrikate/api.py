"""The library API: everything the ``fab`` command does, callable from Python.

    import fabrikate

    tree = fabrikate.load("examples/trivia", ["prod"])
    result = fabrikate.generate("examples/trivia", ["prod"])
    print(result.output, [c.id for c in result.components])

Functions take plain values and return result objects; the CLI only parses and prints.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.cache import Cache, digest
from fabrikate.errors import Diagnostic, InputError, component_context
from fabrikate.generators import Renderer, cluster_scoped_kinds, join_documents
from fabrikate.output import WriteResult, output_dir, write_tree
from fabrikate.parallel import first_failure, run_parallel
from fabrikate.process import run_hooks
from fabrikate.records import Run, recording
from fabrikate.resolve import ResolvedComponent, Tree, walk
from fabrikate.settings import Settings

__all__ = ["ComponentResult", "GenerateResult", "generate", "install", "load"]

if TYPE_CHECKING:
    from fabrikate.installer import InstallResult, Progress

log = logging.getLogger("fabrikate")


@dataclass
class ComponentResult:
    """One rendered component."""

    node: ResolvedComponent
    documents: list[str]
    seconds: float = 0.0

    @property
    def id(self) -> str:
        """Logical path plus name."""
        return self.node.id

    @property
    def file(self) -> str:
        """The output file, relative to the output folder."""
        return f"{self.node.id}.yaml"


@dataclass
class GenerateResult:
    """What ``generate`` did."""

    root: Path
    environments: tuple[str, ...]
    output: Path
    components: list[ComponentResult] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    files: WriteResult | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    record: dict[str, Any] | None = None  # the deployment record written for this run

    @property
    def warnings(self) -> list[Diagnostic]:
        """Every warning of the run."""
        return [d for d in self.diagnostics if d.level == "warning"]


def load(
    path: str | Path = ".",
    environments: Sequence[str] = (),
    *,
    settings: Settings | None = None,
) -> Tree:
    """Resolve the tree at ``path`` for ``environments`` without running anything."""
    settings = settings or Settings.from_env()
    root = Path(path)
    tree = walk(root, environments, allow_outside_root=settings.allow_outside_root)
    _check_environments(tree, settings)
    return tree


def _check_environments(tree: Tree, settings: Settings) -> None:
    if settings.strict:
        missing = [d for d in tree.diagnostics if "has no config file anywhere" in d.message]
        if missing:
            raise InputError(missing[0].message + " (--strict)")


def generate(
    path: str | Path = ".",
    environments: Sequence[str] = (),
    *,
    output: str | Path | None = None,
    settings: Settings | None = None,
) -> GenerateResult:
    """Render every component of the tree at ``path`` and write ``generated/<envs>/``.

    Every run, failed or not, is recorded in the store ``settings.records`` names.
    """
    settings = settings or Settings.from_env()
    with tree_lock(Path(path), settings), recording(path, environments, settings) as run:
        result = run.result = _generate(Path(path), environments, output, settings, run)
    return result


def tree_lock(root: Path, settings: Settings) -> contextlib.AbstractContextManager[None]:
    """One fab process at a time per tree; others wait (``settings.wait``) or fail clearly."""
    name = digest("tree", os.path.realpath(root))
    return Cache.default().lock("locks", name, wait=settings.wait, what=f"the tree at {root}")


def _generate(
    root: Path,
    environments: Sequence[str],
    output: str | Path | None,
    settings: Settings,
    run: Run,
) -> GenerateResult:
    started = time.perf_counter()
    tree = run.tree = load(root, environments, settings=settings)
    dest = Path(output) if output is not None else output_dir(root, list(environments))
    result = GenerateResult(root, tuple(environments), dest, disabled=list(tree.disabled))
    result.diagnostics.extend(tree.diagnostics)
    result.timings["load"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="fab-") as workdir:
        cache = Cache.default() if settings.render_cache else None
        renderer = Renderer(settings, Path(workdir), cache)
        mark = time.perf_counter()
        result.components = _render_all(tree, settings, renderer, result.diagnostics)
        result.cache_hits, result.cache_misses = renderer.hits, renderer.misses
        result.timings["render"] = time.perf_counter() - mark
        mark = time.perf_counter()
        _inject_all(result.components, renderer)
        result.timings["inject"] = time.perf_counter() - mark
    mark = time.perf_counter()
    files = {c.file: join_documents(c.documents).encode() for c in result.components}
    result.files = write_tree(dest, files)
    result.timings["write"] = time.perf_counter() - mark
    if cache is not None and renderer.misses:
        cache.trim(["render", "inject"], settings.render_cache_bytes)

    result.timings["total"] = time.perf_counter() - started
    return result


def _render_all(
    tree: Tree, settings: Settings, renderer: Renderer, diagnostics: list[Diagnostic]
) -> list[ComponentResult]:
    """Render every component in tree order: cache hits and containers at once, the rest (helm
    runs, hooks, static files) on the pool, which would only slow cache hits down."""

    def one(node: ResolvedComponent) -> ComponentResult:
        with component_context(node.id):
            return _render_one(node, settings, renderer, diagnostics)

    ready: dict[str, ComponentResult] = {}
    for node in tree.components:
        if any(node.component.hook(e) for e in ("before-generate", "after-generate")):
            continue
        with component_context(node.id):
            documents = renderer.cached(node, diagnostics)
        if documents is not None:
            ready[node.id] = ComponentResult(node, documents)
    rest = [node for node in tree.components if node.id not in ready]
    for result in first_failure(run_parallel(one, rest, settings.jobs)):
        ready[result.id] = result
    return [ready[node.id] for node in tree.components]


def _hooks_allowed(node: ResolvedComponent, settings: Settings) -> bool:
    return settings.hooks == "all" or (settings.hooks == "local" and not node.remote)


def _run_hooks(node: ResolvedComponent, event: str, settings: Settings) -> None:
    commands = node.component.hook(event)
    if not commands:
        return
    if not _hooks_allowed(node, settings):
        log.info("skipping hook %s of %s (--hooks %s)", event, node.id, settings.hooks)
        return
    env = {"FAB_COMPONENT": node.name, "FAB_COMPONENT_PATH": node.id, "FAB_HOOK": event}
    run_hooks(commands, event=event, cwd=str(node.physical_path), env=env, timeout=settings.timeout)


def _render_one(
    node: ResolvedComponent, settings: Settings, renderer: Renderer, diagnostics: list[Diagnostic]
) -> ComponentResult:
    started = time.perf_counter()
    _run_hooks(node, "before-generate", settings)
    documents = renderer.render(node, diagnostics)
    _run_hooks(node, "after-generate", settings)
    return ComponentResult(node, documents, time.perf_counter() - started)


def _inject_all(components: list[ComponentResult], renderer: Renderer) -> None:
    """Inject namespaces once every CRD of the tree is known (their scope decides)."""
    targets = [
        c
        for c in components
        if c.node.component.type == "helm"
        and c.node.config.inject_namespace
        and c.node.config.namespace
    ]
    if not targets:
        return
    scoped = cluster_scoped_kinds(doc for c in components for doc in c.documents)
    for item in targets:
        with component_context(item.id):
            item.documents = renderer.inject(item.documents, item.node.config.namespace, scoped)


def install(
    path: str | Path = ".",
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
) -> InstallResult:
    """Fetch every remote component of the tree at ``path``; every failure is in the result."""
    from fabrikate.installer import install as run_install

    settings = settings or Settings.from_env()
    with tree_lock(Path(path), settings):
        return run_install(path, settings, progress=progress)

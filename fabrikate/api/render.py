"""``render``: walk a tree and render every component, writing and recording nothing (what
``generate`` writes, ``validate --manifests`` checks and ``diff`` compares).

    result = GenerateResult(root, ("prod",), output_dir(root, ["prod"]))
    tree = render(result, settings)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fabrikate.api.load import strict_errors
from fabrikate.api.results import GenerateResult
from fabrikate.errors import FabrikateError, raise_all
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, at_end

if TYPE_CHECKING:
    from fabrikate.hld.resolve import Tree
    from fabrikate.render.tree import ComponentResult
    from fabrikate.support.progress import Progress

__all__ = ["render"]


def render(
    result: GenerateResult,
    settings: Settings,
    walked: Callable[[Tree], None] | None = None,
    progress: Progress | None = None,
    rendered: Callable[[ComponentResult], None] | None = None,
) -> Tree:
    """Walk and render the tree of ``result`` into it, without writing or recording anything
    (``walked`` hears of the tree once it is walked, ``progress`` of each component rendered,
    ``rendered`` of each whose documents are final as rendered, on its worker). Every failure
    is collected, then raised at once."""
    from fabrikate.hld.resolve import duplicate_outputs, walk
    from fabrikate.render.renderer import Renderer
    from fabrikate.render.tree import TreeRender, inject_namespaces
    from fabrikate.support.parallel import Pool

    started = time.perf_counter()
    cache = Cache.of(settings) if settings.render_cache else None
    remote = None
    if cache is not None and settings.remote_cache and not settings.offline:
        from fabrikate.support.remotecache import RemoteCache

        remote = RemoteCache.of(settings)
    # Twice the workers of ``jobs``: the helm generator runs at most ``jobs`` helm processes, and
    # the other workers read a finished helm's output meanwhile, so no core waits for Python.
    with Pool(2 * settings.jobs if settings.jobs > 1 else 1) as pool:
        renderer = Renderer(settings, cache, remote)
        renders = TreeRender(settings, renderer, pool, progress=progress, rendered=rendered)
        tree = walk(
            result.root,
            result.environments,
            visit=renders.visit,
            visit_when=renders.hooked,
            found=renders.offer,
            jobs=settings.jobs,
            allow_outside_root=settings.allow_outside_root,
            keep_going=True,
            skip_missing=False,
        )
        if walked is not None:
            walked(tree)
        result.disabled = list(tree.disabled)
        errors: list[FabrikateError] = [
            d.as_error() for d in tree.diagnostics if d.level == "error"
        ]
        errors.extend(duplicate_outputs(tree))
        result.diagnostics.extend(d for d in tree.diagnostics if d.level != "error")
        result.timings["load"] = time.perf_counter() - started
        mark = time.perf_counter()
        for outcome in renders.finish(tree):
            if isinstance(outcome, FabrikateError):
                errors.append(outcome)
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                result.components.append(outcome)
                result.diagnostics.extend(outcome.diagnostics)
        result.cache_hits, result.cache_misses = renderer.hits, renderer.misses
        if remote is not None:  # pushes finish where the run's cache writes do
            at_end(remote.wait)
        renderer.remember()
        result.timings["render"] = time.perf_counter() - mark
        raise_all(
            errors + strict_errors(result.diagnostics, settings), "errors; nothing was written"
        )
        mark = time.perf_counter()
        inject_namespaces(result.components, renderer)
        result.timings["inject"] = time.perf_counter() - mark
    # A cache that had no render entry holds little but this run's: the next run trims it.
    if cache is not None and renderer.misses and not renderer.empty:
        kinds = ["render", "inject", "described", "parsed", "timings"]
        cache.trim(kinds, settings.render_cache_bytes, every=600)
    return tree

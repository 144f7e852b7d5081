"""Generators turn a resolved component into YAML documents; they never write files. One per
component ``type``, picked from a registry (a container, ``type: component``, has none and
renders nothing).

    generator = generators(settings, cache)["helm"]
    key = generator.key(node)                  # the render cache key, or None: never cached
    documents = generator.documents(node, diagnostics)
    first = generator.cost(node)               # the longest renders start first
"""

from __future__ import annotations

from typing import Protocol

from fabrikate.errors import Diagnostic
from fabrikate.hld.resolve import ResolvedComponent
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache

__all__ = ["Generator", "generators"]


class Generator(Protocol):
    """Makes the documents of one kind of component."""

    def key(self, node: ResolvedComponent) -> str | None:
        """A digest of everything that can change ``node``'s documents, for the render cache;
        None when they are cheap to make again and never cached."""
        ...

    def documents(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
        """``node``'s documents, made afresh; what it notices goes to ``diagnostics``."""
        ...

    def cost(self, node: ResolvedComponent) -> float:
        """About how many seconds making ``node``'s documents takes (the longest start first)."""
        ...

    def took(self, node: ResolvedComponent, seconds: float) -> None:
        """Hear how long making ``node``'s documents took (for the next run's ``cost``)."""
        ...

    def remember(self) -> None:
        """Keep what ``took`` heard, once the run's renders are done."""
        ...


def generators(settings: Settings, cache: Cache | None) -> dict[str, Generator]:
    """The generator of each component type for one run (``cache``: the render cache)."""
    from fabrikate.render.helm import HelmGenerator
    from fabrikate.render.static import StaticGenerator

    # Without a render cache, helm's homes are still in fab's cache folder.
    return {
        "helm": HelmGenerator(settings, cache or Cache.of(settings), remember=cache is not None),
        "static": StaticGenerator(),
    }

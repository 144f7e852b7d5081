"""What a record says of each component's documents (``records.build.describe``), kept in the
cache by the documents, so that a run the render cache served does not parse them again.

    rendered = describer(described, cache)       # on each worker, as a component renders
    complete(described, result.components, cache)  # once, for the components not yet described
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from fabrikate._version import __version__
from fabrikate.records.summary import Described
from fabrikate.support.cache import Cache, digest

if TYPE_CHECKING:
    from fabrikate.render.tree import ComponentResult

__all__ = ["complete", "describer"]

KIND = "described"
# The fields of an image and of an object entry; only these may be None.
_IMAGE = frozenset(
    ("component", "kind", "workload", "container", "containerType", "image", "repository")
)
_OBJECT = frozenset(("apiVersion", "kind", "name", "digest", "file", "component"))
_IMAGE_NULLABLE, _OBJECT_NULLABLE = frozenset(("tag", "digest")), frozenset(("namespace",))


def describer(
    into: MutableMapping[str, Described], cache: Cache | None
) -> Callable[[ComponentResult], None]:
    """A ``rendered`` callback: describe each component as it renders, into ``into`` and the
    cache."""

    def rendered(component: ComponentResult) -> None:
        into[component.id] = _described(component, cache)

    return rendered


def complete(
    into: MutableMapping[str, Described],
    components: Sequence[ComponentResult],
    cache: Cache | None,
) -> None:
    """Describe, from the cache where it can, each component ``into`` lacks (the render cache
    served it) or holds for other documents."""
    for component in components:
        found = into.get(component.id)
        if found is None or found.documents != tuple(component.documents):
            into[component.id] = _described(component, cache)


def _described(component: ComponentResult, cache: Cache | None) -> Described:
    """The cache's description of ``component``, else one worked out now (and cached)."""
    found = _cached(component, cache)
    if found is not None:
        return found
    # Imported here, on a worker: the record's thread imports it as the run starts, and the
    # walk must not wait for that.
    from fabrikate.records.build import describe

    found = describe(component.id, component.file, component.documents)
    if cache is not None:
        entry = {"images": found.images, "objects": found.objects, "kinds": found.kinds}
        cache.put(KIND, _key(component), json.dumps(entry).encode())
    return found


def _cached(component: ComponentResult, cache: Cache | None) -> Described | None:
    """The cache's description of ``component``; None when there is none or it is not one
    this code writes for the component (the cache is untrusted)."""
    if cache is None:
        return None
    try:
        data = json.loads(cache.get(KIND, _key(component)) or b"null")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    images: Any = data.get("images")
    objects: Any = data.get("objects")
    kinds: Any = data.get("kinds")
    ours = {"component": component.id}
    if not (
        _rows(images, _IMAGE, _IMAGE_NULLABLE, ours)
        and _rows(objects, _OBJECT, _OBJECT_NULLABLE, ours | {"file": component.file})
        and isinstance(kinds, list)
        and all(isinstance(kind, str) for kind in kinds)
    ):
        return None
    return Described(tuple(component.documents), tuple(images), tuple(objects), tuple(kinds))


def _rows(
    rows: Any, strings: frozenset[str], nullable: frozenset[str], fixed: dict[str, str]
) -> bool:
    """Whether ``rows`` is a list of entries with exactly the fields ``strings`` (text) and
    ``nullable`` (text or None), and the values ``fixed``."""
    return isinstance(rows, list) and all(
        isinstance(row, dict)
        and row.keys() == strings | nullable
        and all(isinstance(row[name], str) for name in strings)
        and all(row[name] is None or isinstance(row[name], str) for name in nullable)
        and all(row[name] == value for name, value in fixed.items())
        for row in rows
    )


def _key(component: ComponentResult) -> str:
    return digest(KIND, __version__, component.id, component.file, *component.documents)

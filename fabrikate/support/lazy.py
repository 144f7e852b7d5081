"""Module ``__getattr__`` hooks that import a package's public names on first use.

__getattr__ = lazy_exports(globals(), {"open_store": "fabrikate.records.stores"}, {})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, str], aliases: Mapping[str, str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each of ``exports`` (name: module) on first use."""

    def get(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), aliases.get(name, name))
        namespace[name] = value
        return value

    return get

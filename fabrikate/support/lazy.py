"""Module ``__getattr__`` hooks that import a package's public names on first use, and
PyYAML's costly import-time pattern compiled on first use instead.

__getattr__ = lazy_exports(globals(), {"open_store": "fabrikate.records.stores"}, {})
defer_yaml_pattern()  # before PyYAML is imported
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["LazyPattern", "defer_yaml_pattern", "lazy_exports"]

# PyYAML's pure-Python reader compiles this pattern (a set over all of Unicode) when yaml is
# imported. fab reads YAML with the C parser, which never uses it, and compiling it costs as
# much as a tenth of a cold `fab generate`'s own CPU time.
YAML_NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


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


class LazyPattern:
    """A regular expression compiled when it is first used."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:  # re.UNICODE, the default: not this stand-in's cache entry
            self._compiled = re.compile(self.pattern, re.UNICODE)
        return getattr(self._compiled, name)


def defer_yaml_pattern() -> None:
    """Put ``YAML_NON_PRINTABLE`` into ``re``'s cache as a ``LazyPattern``, so that PyYAML's
    ``re.compile`` of it, at import, returns that (on a Python whose cache is not a dict it
    compiles as before)."""
    cache = getattr(re, "_cache", None)
    if isinstance(cache, dict):
        cache.setdefault((str, YAML_NON_PRINTABLE, 0), LazyPattern(YAML_NON_PRINTABLE))

"""fabrikate: render high level GitOps deployment definitions into Kubernetes manifests.

    import fabrikate

    result = fabrikate.generate("examples/trivia", ["prod"])
    for component in result.components:
        print(component.file, len(component.documents))

Names are imported on first use, so ``import fabrikate`` (and ``fab --version``) stays fast.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Component": "fabrikate.model",
    "ComponentResult": "fabrikate.generators",
    "ConfigConflictError": "fabrikate.errors",
    "Diagnostic": "fabrikate.errors",
    "FabrikateError": "fabrikate.errors",
    "Failures": "fabrikate.errors",
    "GenerateResult": "fabrikate.api",
    "InputError": "fabrikate.errors",
    "Location": "fabrikate.errors",
    "ProcessError": "fabrikate.errors",
    "RecordsError": "fabrikate.records",
    "ResolvedComponent": "fabrikate.resolve",
    "Settings": "fabrikate.settings",
    "SourceError": "fabrikate.errors",
    "Tree": "fabrikate.resolve",
    "generate": "fabrikate.api",
    "install": "fabrikate.api",
    "load": "fabrikate.api",
    # authoring and validation
    "ValidationReport": "fabrikate.validate",
    "add_subcomponent": "fabrikate.edit",
    "find_definitions": "fabrikate.find",
    "remove_subcomponent": "fabrikate.edit",
    "set_config": "fabrikate.edit",
    "validate": "fabrikate.validate",
    # deployment records
    "open_store": "fabrikate.records",
    # review
    "DiffResult": "fabrikate.review",
    "Explanation": "fabrikate.provenance",
    "diff": "fabrikate.review",
    "explain": "fabrikate.provenance",
    "init": "fabrikate.scaffold",
}
# Exported under another name than the one in their module.
_ALIASES = {"ValidationReport": "Report", "find_definitions": "find"}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from fabrikate.api import GenerateResult, generate, install, load
    from fabrikate.edit import add_subcomponent, remove_subcomponent, set_config
    from fabrikate.errors import (
        ConfigConflictError,
        Diagnostic,
        FabrikateError,
        Failures,
        InputError,
        Location,
        ProcessError,
        SourceError,
    )
    from fabrikate.find import find as find_definitions
    from fabrikate.generators import ComponentResult
    from fabrikate.model import Component
    from fabrikate.provenance import Explanation, explain
    from fabrikate.records import RecordsError, open_store
    from fabrikate.resolve import ResolvedComponent, Tree
    from fabrikate.review import DiffResult, diff
    from fabrikate.scaffold import init
    from fabrikate.settings import Settings
    from fabrikate.validate import Report as ValidationReport
    from fabrikate.validate import validate


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


__getattr__ = lazy_exports(globals(), _EXPORTS, _ALIASES)


class _Package(types.ModuleType):
    """The package: importing a submodule named like an exported function (``validate``,
    ``fabrikate.validate``) must not replace the function with the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return __all__

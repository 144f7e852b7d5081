"""fabrikate: render high level GitOps deployment definitions into Kubernetes manifests.

    import fabrikate

    result = fabrikate.generate("examples/trivia", ["prod"])
    for component in result.components:
        print(component.file, len(component.documents))

Names are imported on first use, so ``import fabrikate`` (and ``fab --version``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Component": "fabrikate.model",
    "ComponentResult": "fabrikate.api",
    "ConfigConflictError": "fabrikate.errors",
    "Diagnostic": "fabrikate.errors",
    "FabrikateError": "fabrikate.errors",
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
    "load": "fabrikate.api",
    "open_store": "fabrikate.records",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from fabrikate.api import ComponentResult, GenerateResult, generate, load
    from fabrikate.errors import (
        ConfigConflictError,
        Diagnostic,
        FabrikateError,
        InputError,
        Location,
        ProcessError,
        SourceError,
    )
    from fabrikate.model import Component
    from fabrikate.records import RecordsError, open_store
    from fabrikate.resolve import ResolvedComponent, Tree
    from fabrikate.settings import Settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fabrikate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

"""fabrikate: render high level GitOps deployment definitions into Kubernetes manifests.

import fabrikate

result = fabrikate.generate("examples/trivia", ["prod"])
for component in result.components:
    print(component.file, len(component.documents))
"""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "Component",
    "ComponentResult",
    "ConfigConflictError",
    "Diagnostic",
    "FabrikateError",
    "GenerateResult",
    "InputError",
    "Location",
    "ProcessError",
    "RecordsError",
    "ResolvedComponent",
    "Settings",
    "SourceError",
    "Tree",
    "__version__",
    "generate",
    "load",
    "open_store",
]

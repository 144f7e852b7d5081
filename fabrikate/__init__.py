"""fabrikate: render high level GitOps deployment definitions into Kubernetes manifests.

    import fabrikate

    result = fabrikate.generate("examples/trivia", ["prod"])
    for component in result.components:
        print(component.file, len(component.documents))

Names are imported on first use, so ``import fabrikate`` (and ``fab --version``) stays fast;
PyYAML, once imported, compiles its pure-Python reader's pattern on first use
(``support.lazy.defer_yaml_pattern``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabrikate._version import __version__
from fabrikate.support.lazy import defer_yaml_pattern, lazy_exports

defer_yaml_pattern()

_EXPORTS = {
    "Component": "fabrikate.hld.model",
    "ComponentResult": "fabrikate.render.tree",
    "ConfigConflictError": "fabrikate.errors",
    "Diagnostic": "fabrikate.errors",
    "FabrikateError": "fabrikate.errors",
    "Failures": "fabrikate.errors",
    "FetchError": "fabrikate.errors",
    "InstallResult": "fabrikate.sources.installer",
    "OutputConflict": "fabrikate.errors",
    "TimedOut": "fabrikate.errors",
    "ValidationFailed": "fabrikate.errors",
    "GenerateResult": "fabrikate.api.results",
    "InputError": "fabrikate.errors",
    "Location": "fabrikate.errors",
    "ProcessError": "fabrikate.errors",
    "RecordsError": "fabrikate.errors",
    "ResolvedComponent": "fabrikate.hld.resolve",
    "Settings": "fabrikate.settings",
    "SourceError": "fabrikate.errors",
    "Tree": "fabrikate.hld.resolve",
    "generate": "fabrikate.api.generate",
    "install": "fabrikate.api.install",
    "load": "fabrikate.api.load",
    "outdated": "fabrikate.api.outdated",
    "OutdatedResult": "fabrikate.api.outdated",
    "vendor": "fabrikate.api.vendor",
    "VendorResult": "fabrikate.api.vendor",
    # authoring and validation
    "Definition": "fabrikate.api.find",
    "ValidationReport": "fabrikate.api.validate",
    "add_subcomponent": "fabrikate.api.edit",
    "find_definitions": "fabrikate.api.find",
    "remove_subcomponent": "fabrikate.api.edit",
    "set_config": "fabrikate.api.edit",
    "validate": "fabrikate.api.validate",
    # deployment records
    "Store": "fabrikate.records.stores.base",
    "open_store": "fabrikate.records",
    # review
    "DiffResult": "fabrikate.api.diff",
    "Explanation": "fabrikate.api.explain",
    "diff": "fabrikate.api.diff",
    "explain": "fabrikate.api.explain",
    "InitResult": "fabrikate.api.scaffold",
    "init": "fabrikate.api.scaffold",
}
# Exported under another name than the one in their module.
_ALIASES = {"ValidationReport": "Report", "find_definitions": "find"}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from fabrikate.api.diff import DiffResult, diff
    from fabrikate.api.edit import add_subcomponent, remove_subcomponent, set_config
    from fabrikate.api.explain import Explanation, explain
    from fabrikate.api.find import Definition
    from fabrikate.api.find import find as find_definitions
    from fabrikate.api.generate import generate
    from fabrikate.api.install import install
    from fabrikate.api.load import load
    from fabrikate.api.outdated import OutdatedResult, outdated
    from fabrikate.api.results import GenerateResult
    from fabrikate.api.scaffold import InitResult, init
    from fabrikate.api.validate import Report as ValidationReport
    from fabrikate.api.validate import validate
    from fabrikate.api.vendor import VendorResult, vendor
    from fabrikate.errors import (
        ConfigConflictError,
        Diagnostic,
        FabrikateError,
        Failures,
        FetchError,
        InputError,
        Location,
        OutputConflict,
        ProcessError,
        RecordsError,
        SourceError,
        TimedOut,
        ValidationFailed,
    )
    from fabrikate.hld.model import Component
    from fabrikate.hld.resolve import ResolvedComponent, Tree
    from fabrikate.records import open_store
    from fabrikate.records.stores.base import Store
    from fabrikate.render.tree import ComponentResult
    from fabrikate.settings import Settings
    from fabrikate.sources.installer import InstallResult


__getattr__ = lazy_exports(globals(), _EXPORTS, _ALIASES)


def __dir__() -> list[str]:
    return __all__

"""What a run tells the records: plain, frozen values (named tuples: cheap to define), computed
once by the run.

    summary = RunSummary(components=(ComponentFacts("app", "app", "helm"),), helm="v3.17.3")
    with recording(root, ["prod"], settings) as run:
        ...
        run.summary = summary

Records never import the operations or the rendering layers: everything they say about a run
comes from here (or from the record of an identical earlier run, ``Run.facts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from fabrikate.errors import Diagnostic

__all__ = ["Checked", "ComponentFacts", "Described", "Rendered", "RunSummary"]

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


class ComponentFacts(NamedTuple):
    """One component of the run, as its definition asked for it."""

    id: str  # logical path plus name
    name: str
    type: str
    method: str | None = None
    source: str | None = None
    mirror: str | None = None  # the URL fab install fetched it from, when the mirror map chose it
    path: str | None = None
    version: str | None = None
    branch: str | None = None
    clone: Path | None = None  # the git clone it came from, whose commit the record states
    chart: Mapping[str, str] | None = None  # a helm chart's name and version (Chart.yaml)


class Described(NamedTuple):
    """What a record says of one component's documents (``records.build.describe``), worked
    out while the run renders; it stands for ``documents`` only."""

    documents: tuple[str, ...]
    images: tuple[dict[str, Any], ...] = ()
    objects: tuple[dict[str, Any], ...] = ()
    kinds: tuple[str, ...] = ()  # the kind of each document that names one


class Rendered(NamedTuple):
    """The output a successful run wrote: each file's bytes and each component's documents."""

    output: Path
    files: Mapping[str, bytes] = _EMPTY
    documents: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (component id, documents)
    component_files: Mapping[str, str] = _EMPTY  # component id -> file
    described: Mapping[str, Described] = _EMPTY  # by component id


class Checked(NamedTuple):
    """The offline check of the rendered objects (``--validate``)."""

    kube_version: str
    objects: int
    problems: tuple[Diagnostic, ...] = ()

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The invalid objects."""
        return tuple(p for p in self.problems if p.level == "error")


class RunSummary(NamedTuple):
    """Everything a record says about the tree of one run."""

    components: tuple[ComponentFacts, ...] = ()
    rendered: Rendered | None = None  # None: nothing was written
    helm: str | None = None  # ``helm version --short``; None when there is no helm
    validation: Checked | None = None

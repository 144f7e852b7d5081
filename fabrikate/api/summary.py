"""The frozen summary a run hands the records (``records/summary.py``): computed here, once,
from what the run knows, so that records never reach back into the run.

    run.summary = summarize(result, tree, files, settings)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.errors import FabrikateError, InputError
from fabrikate.hld import layout
from fabrikate.records.summary import Checked, ComponentFacts, Described, Rendered, RunSummary
from fabrikate.settings import Settings

if TYPE_CHECKING:
    from fabrikate.api.results import GenerateResult
    from fabrikate.hld.model import Component
    from fabrikate.hld.resolve import ResolvedComponent, Tree

__all__ = ["summarize"]


def summarize(
    result: GenerateResult,
    tree: Tree | None,
    files: Mapping[str, bytes] | None,
    settings: Settings,
    described: Mapping[str, Described] | None = None,
) -> RunSummary:
    """What the record of a run says about its tree: ``files`` are the bytes written (None
    when nothing was), ``described`` what the run worked out of its components' documents."""
    if files is not None:  # written: the components rendered (their order is the output's)
        nodes = [c.node for c in result.components]
    else:  # failed: every component the walk found (a render may have failed half-way)
        nodes = list(tree.components) if tree is not None else []
    refs = _references(nodes)
    charts: dict[bytes, dict[str, str] | None] = {}
    rendered = None
    if files is not None:
        documents = tuple((c.id, tuple(c.documents)) for c in result.components)
        written = {c.id: c.file for c in result.components}
        rendered = Rendered(result.output, dict(files), documents, written, dict(described or {}))
    checked = result.validation
    return RunSummary(
        components=tuple(_facts(node, refs, charts) for node in nodes),
        rendered=rendered,
        helm=_helm_version(settings),
        validation=(
            Checked(checked.kube_version, checked.objects, tuple(checked.problems))
            if checked is not None
            else None
        ),
    )


def _helm_version(settings: Settings) -> str | None:
    from fabrikate.support.cache import Cache
    from fabrikate.support.helm import version

    try:
        return version(settings.helm, Cache.of(settings))
    except FabrikateError:
        return None


def _references(nodes: Sequence[ResolvedComponent]) -> dict[str, Component]:
    """For directory subcomponents, the parent's entry naming them (method, source, version)."""
    refs = {}
    for parent in nodes:
        for sub in parent.component.subcomponents:
            if sub.is_directory:
                path = f"{parent.logical_path}/{sub.name}" if parent.logical_path else sub.name
                refs[path] = sub
    return refs


def _facts(
    node: ResolvedComponent,
    refs: Mapping[str, Component],
    charts: dict[bytes, dict[str, str] | None],
) -> ComponentFacts:
    """The record's facts of one component (``charts``: each ``Chart.yaml`` read, by its bytes)."""
    ref = node.component if node.inline else refs.get(node.logical_path, node.component)
    return ComponentFacts(
        id=node.id,
        name=node.component.name,
        type=node.component.type,
        method=ref.method or None,
        source=ref.source or None,
        mirror=_mirror(node, ref),
        path=ref.path or None,
        version=ref.version or None,
        branch=ref.branch or None,
        clone=_clone(node, ref),
        chart=_chart(node, charts) if node.component.type == "helm" else None,
    )


def _mirror(node: ResolvedComponent, ref: Component) -> str | None:
    """The URL ``fab install`` fetched the component from, when the mirror map rewrote it."""
    from fabrikate.hld import installs

    if node.inline:
        found = installs.install_path(node.physical_path, ref)
    else:
        found = (node.boundary, "git") if ref.method == "git" and node.boundary else None
    note = installs.read(*found) if found is not None else None
    return (note.mirror or None) if note is not None else None


def _clone(node: ResolvedComponent, ref: Component) -> Path | None:
    """Where a git-fetched component's clone is (the walker's layout, spec §6.1)."""
    if ref.method != "git":
        return None
    if not node.inline:
        return node.boundary
    place = layout.chart_clone_dir if ref.type == "helm" else layout.clone_dir
    return place(node.physical_path, ref.name)


def _chart(
    node: ResolvedComponent, known: dict[bytes, dict[str, str] | None]
) -> dict[str, str] | None:
    """The chart's name and version from its ``Chart.yaml``; None when it cannot be read. Each
    distinct file is parsed once (``known``): many components share a chart."""
    from fabrikate.support.fsutil import read_regular

    try:  # a failed run is recorded too: its chart may be anything, a FIFO included
        raw = read_regular(layout.chart_dir(node) / "Chart.yaml")
    except InputError:
        return None
    if raw not in known:
        known[raw] = _chart_facts(raw)
    found = known[raw]
    return dict(found) if found is not None else None


def _chart_facts(raw: bytes) -> dict[str, str] | None:
    """The name and version a ``Chart.yaml`` holds; None when it is not a mapping. It is read
    through the parsed-YAML cache: a run that parses nothing else does not import PyYAML."""
    from fabrikate.support.yamlio import parse_yaml

    try:
        data, _ = parse_yaml(raw.decode("utf-8", "replace"), "Chart.yaml")
    except InputError:
        return None
    if not isinstance(data, dict):
        return None
    return {"name": str(data.get("name") or ""), "version": str(data.get("version") or "")}

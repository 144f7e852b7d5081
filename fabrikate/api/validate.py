"""``fab validate``: every problem of an HLD tree at once, offline, fast enough for pre-commit.

    report = validate(Path("hld"), ["prod"])
    for problem in report.errors:
        print(problem)          # file:line:col: message [component infra/efk]

The tree is walked in keep-going mode (``resolve.walk``), so one broken subcomponent does not
hide the others. Every component and config file reached is checked against the schemas, and
config keys under ``subcomponents`` must name a subcomponent. Remote components are checked
when installed. With ``manifests`` the environments are also rendered and every object is
checked against the Kubernetes schemas of ``kube_version`` (the kubernetes-validate package)
or, for custom resources, against the ``openAPIV3Schema`` of CRDs in the same output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabrikate.errors import Diagnostic, FabrikateError, Failures, InputError
from fabrikate.hld.config import parse_layer
from fabrikate.hld.model import Component, component_file, parse_component
from fabrikate.hld.resolve import ResolvedComponent, duplicate_outputs, walk
from fabrikate.settings import Settings
from fabrikate.support.suggest import suggestion
from fabrikate.support.yamlio import duplicate_warnings, locate, parse_document, read_text

__all__ = ["Report", "validate"]

# Warnings of the loaders that validate treats as errors: an environment without any file.
_ESCALATE = ("missing-environment",)
# Warnings of the walk that validate finds itself, in every config file (not only the merged).
_OWN_CHECKS = ("unknown-subcomponent",)


@dataclass
class Report:
    """What ``validate`` found."""

    root: Path
    environments: tuple[str, ...]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    not_installed: list[str] = field(default_factory=list)
    objects: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        """The problems that make the tree invalid."""
        return [d for d in self.diagnostics if d.level == "error"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        """A machine-readable report."""
        return {
            "valid": self.ok,
            "root": str(self.root),
            "environments": list(self.environments),
            "files": self.files,
            "objects": self.objects,
            "not_installed": self.not_installed,
            "problems": [
                {
                    "level": d.level,
                    "file": d.location.file if d.location else None,
                    "line": d.location.line if d.location else None,
                    "column": d.location.column if d.location else None,
                    "message": d.message,
                    "component": d.component,
                }
                for d in self.diagnostics
            ],
        }


def validate(
    root: str | Path,
    environments: Sequence[str] = (),
    *,
    manifests: bool = False,
    kube_version: str | None = None,
    settings: Settings | None = None,
) -> Report:
    """Check the tree at ``root`` for ``environments``; never raises for a problem in it."""
    root = Path(root)
    settings = settings or Settings.from_env()
    if manifests:
        from fabrikate.render.validation import check_kube_version

        target = check_kube_version(kube_version)
    else:
        target = ""
    report = Report(root, tuple(environments))
    found: list[Diagnostic] = []
    nodes: list[ResolvedComponent] = []
    try:
        tree = walk(
            root,
            environments,
            allow_outside_root=settings.allow_outside_root,
            keep_going=True,
        )
        found.extend(d for d in tree.diagnostics if d.code not in _OWN_CHECKS)
        found.extend(_diagnostic(exc) for exc in duplicate_outputs(tree))
        nodes = tree.components
        report.not_installed = tree.not_installed
    except FabrikateError as exc:
        found.append(_diagnostic(exc))
    folders = [n for n in nodes if not n.inline]
    readable = [n for n in folders if _check_definition(n, found)]
    by_path = {n.logical_path: n for n in readable}
    for node in folders:
        report.files += _check_configs(node, by_path, found) + 1
    if not nodes:
        report.files += _check_bare_root(root, found)
    found.extend(_missing_local_paths(nodes))
    report.diagnostics = _tidy(found, settings.strict)
    if manifests and report.ok:
        _check_manifests(report, settings, target)
    return report


def _diagnostic(exc: FabrikateError) -> Diagnostic:
    return Diagnostic("error", exc.message, exc.location, exc.component)


def _tidy(found: Iterable[Diagnostic], strict: bool = False) -> list[Diagnostic]:
    """Escalate missing environments (with ``strict``: every warning), drop duplicates, sort
    by place."""
    seen: dict[str, Diagnostic] = {}
    for item in found:
        if item.level == "warning" and (strict or item.code in _ESCALATE):
            item = item.escalated(" (--strict)" if strict else "")
        key = f"{item.location}: {item.message}" if item.location else item.message
        if key not in seen or (item.component and not seen[key].component):
            seen[key] = item
    return sorted(seen.values(), key=_place)


def _place(item: Diagnostic) -> tuple[str, int, int, str]:
    where = item.location
    if where is None:
        return ("", 0, 0, item.message)
    return (where.file, where.line or 0, where.column or 0, item.message)


def _with_component(items: Iterable[Diagnostic], component: str) -> list[Diagnostic]:
    return [Diagnostic(d.level, d.message, d.location, d.component or component) for d in items]


def _check_bare_root(root: Path, found: list[Diagnostic]) -> int:
    """When the root itself cannot be walked, still check its own files."""
    path = component_file(root)
    if path is None:
        return 0
    try:
        _, problems = parse_component(read_text(path), str(path))
    except InputError as exc:
        problems = [Diagnostic("error", exc.message, exc.location)]
    found.extend(problems)
    return 1


def _check_definition(node: ResolvedComponent, found: list[Diagnostic]) -> bool:
    """Check a folder's component file; False when it has errors (its subcomponents are moot)."""
    path = component_file(node.physical_path)
    if path is None:
        return False
    try:
        _, problems = parse_component(read_text(path), str(path))
    except InputError as exc:
        problems = [Diagnostic("error", exc.message, exc.location)]
    found.extend(_with_component(problems, node.id))
    return not any(p.level == "error" for p in problems)


def _check_configs(
    node: ResolvedComponent, by_path: Mapping[str, ResolvedComponent], found: list[Diagnostic]
) -> int:
    """Check every config file of a component folder; return how many there are."""
    folder = node.physical_path / "config"
    configs = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.json"))
    readable = by_path.get(node.logical_path) is node
    for config in configs:
        problems = _check_config(config, node if readable else None, by_path)
        found.extend(_with_component(problems, node.id))
    return len(configs)


def _check_config(
    path: Path, node: ResolvedComponent | None, by_path: Mapping[str, ResolvedComponent]
) -> list[Diagnostic]:
    try:
        data, text, duplicates = parse_document(path)
    except InputError as exc:
        return [Diagnostic("error", exc.message, exc.location)]
    problems = duplicate_warnings(duplicates, str(path))
    _, found = parse_layer(data, text, str(path))
    problems.extend(found)
    invalid = any(p.level == "error" and p.code != "unknown-key" for p in found)
    if node is not None and isinstance(data, dict) and not invalid:
        problems.extend(_unknown_subcomponents(data, node, by_path, text, str(path), ()))
    return problems


def _unknown_subcomponents(
    data: Mapping[str, Any],
    node: ResolvedComponent,
    by_path: Mapping[str, ResolvedComponent],
    text: str,
    file: str,
    keypath: tuple[str, ...],
) -> list[Diagnostic]:
    """Config entries under ``subcomponents`` must name a subcomponent of their component."""
    problems = []
    subs = {s.name: s for s in node.component.subcomponents}
    for name, entry in (data.get("subcomponents") or {}).items():
        where = (*keypath, "subcomponents", str(name))
        sub = subs.get(str(name))
        if sub is None:
            known = suggestion(str(name), list(subs))
            problems.append(
                Diagnostic(
                    # Inside a fetched definition it is another team's to fix.
                    "warning" if node.remote else "error",
                    f"config for subcomponent {name!r}, but {node.name!r} has no such "
                    f"subcomponent; {known}",
                    locate(text, list(where), file),
                    code="unknown-subcomponent",
                )
            )
            continue
        child = _child_node(node, sub, by_path)
        if child is not None and isinstance(entry, dict):
            problems.extend(_unknown_subcomponents(entry, child, by_path, text, file, where))
    return problems


def _child_node(
    node: ResolvedComponent, sub: Component, by_path: Mapping[str, ResolvedComponent]
) -> ResolvedComponent | None:
    """The resolved node of a subcomponent (None when it was not walked, e.g. not installed)."""
    if not sub.is_directory:
        return ResolvedComponent(sub, node.logical_path, node.physical_path, node.config, True)
    logical = f"{node.logical_path}/{sub.name}" if node.logical_path else sub.name
    return by_path.get(logical)


def _missing_local_paths(nodes: Iterable[ResolvedComponent]) -> list[Diagnostic]:
    """Local charts and static folders must exist inside their boundary (remote ones appear
    on install)."""
    from fabrikate.errors import InputError
    from fabrikate.hld.layout import boundary_name, chart_dir, confine, static_dir

    problems = []
    for node in nodes:
        component = node.component
        if not node.inline or component.method not in ("", "local"):
            continue
        if component.type == "helm":
            path, what = chart_dir(node), "chart folder"
        elif component.type == "static":
            path, what = static_dir(node), "manifest folder"
        else:
            continue
        try:
            confine(path, node.boundary, what, boundary_name(node))
        except InputError as exc:
            problems.append(Diagnostic("error", exc.message, component.location, node.id))
            continue
        if not path.is_dir():
            problems.append(
                Diagnostic("error", f"{what} {path} does not exist", component.location, node.id)
            )
    return problems


# --- rendered manifests ---


def _check_manifests(report: Report, settings: Settings, kube_version: str) -> None:
    """Render (writing and recording nothing) and check every object."""
    from fabrikate.api.render import render
    from fabrikate.api.results import GenerateResult
    from fabrikate.hld.layout import output_dir
    from fabrikate.render.validation import validate_manifests

    dest = output_dir(report.root, report.environments)
    result = GenerateResult(report.root, report.environments, dest)
    try:
        render(result, settings)
    except Failures as exc:
        report.diagnostics.extend(_diagnostic(e) for e in exc.errors)
        return
    except FabrikateError as exc:
        report.diagnostics.append(_diagnostic(exc))
        return
    files = [(c.file, c.id, c.documents) for c in result.components]
    problems, count = validate_manifests(files, kube_version)
    report.objects = count
    report.diagnostics.extend(problems)

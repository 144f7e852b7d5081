"""The tree walk (spec §4): from a root folder to every component with its merged config.

    tree = walk(Path("examples/trivia"), ["prod"])
    for node in tree.components:
        print(node.logical_path, node.name, node.config.namespace)

The walk is the one place that knows the inline-vs-directory rule and the path rules. It goes
breadth-first, level by level; an optional ``visit`` callback (install uses it) runs on every
component of a level, in parallel, before their children are read. An optional ``found``
callback (generate uses it to start renders early) hears of each component as it is placed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from fabrikate.errors import Diagnostic, FabrikateError, InputError, Location, component_context
from fabrikate.hld import installs, layout
from fabrikate.hld.config import ConfigLayer, check_environment, config_file, load_layer, merge
from fabrikate.hld.layout import check_name
from fabrikate.hld.model import Component, load_component
from fabrikate.support.interrupts import check_interrupted
from fabrikate.support.parallel import first_failure, run_parallel
from fabrikate.support.suggest import suggestion

__all__ = [
    "ResolvedComponent",
    "Tree",
    "child_id",
    "duplicate_outputs",
    "environment_layers",
    "walk",
]

log = logging.getLogger("fabrikate")


@dataclass(frozen=True, slots=True)
class ResolvedComponent:
    """A component placed in the tree: where its output goes, where its files are, its config."""

    component: Component
    logical_path: str  # "" for the root level, else "infra/efk"
    physical_path: Path
    config: ConfigLayer
    inline: bool = False
    boundary: Path | None = None  # folder its paths must stay inside (None: anywhere)
    remote: bool = False  # defined in a fetched clone rather than the local tree
    pointer: bool = False  # a root that only points at a remote definition (spec §2.6)
    # Logical path plus name: unique in a tree, and where the output file goes.
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Names hold no "/" (check_name) and logical paths are joined names.
        node_id = "/".join(p for p in (self.logical_path, self.component.name) if p) or "."
        object.__setattr__(self, "id", node_id)  # frozen: computed once, read very often

    @property
    def name(self) -> str:
        """The component's own name."""
        return self.component.name

    @property
    def namespace(self) -> str:
        """The namespace helm renders into."""
        return self.config.namespace or "default"


@dataclass
class Tree:
    """The result of a walk: components in a deterministic order, and what was noticed."""

    root: Path
    environments: tuple[str, ...]
    components: list[ResolvedComponent] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    not_installed: list[str] = field(default_factory=list)  # keep_going: remote, not fetched yet


Visit = Callable[[ResolvedComponent], None]


def environment_layers(environments: Sequence[str]) -> tuple[str, ...]:
    """The config files to merge, highest first: named ones once each, then ``common``."""
    for name in environments:
        check_environment(name)
    ordered = [e for e in dict.fromkeys(environments) if e != "common"]
    return (*ordered, "common")


def child_id(parent: ResolvedComponent, name: str) -> str:
    """How a subcomponent is named in messages before it is placed: its logical path."""
    return f"{parent.logical_path}/{name}" if parent.logical_path else name


@dataclass
class _Walker:
    root: Path
    layers: tuple[str, ...]
    visit: Visit | None
    jobs: int
    allow_outside_root: bool
    tree: Tree
    keep_going: bool = False
    found: Visit | None = None
    found_envs: set[str] = field(default_factory=set)
    skip_missing: bool = True
    check_installs: bool = True
    visit_when: Callable[[ResolvedComponent], bool] | None = None

    def place(self, node: ResolvedComponent) -> ResolvedComponent:
        """Note what is odd about a new component's config, and tell ``found`` of it."""
        self.tree.diagnostics.extend(_config_warnings(node))
        if self.found is not None:
            self.found(node)
        return node

    def check_installed(self, folder: Path, component: Component) -> None:
        """A component installed for another source or ref than its definition asks for is an
        error (``fab install`` fixes it), not a silent render of the old copy."""
        found = installs.install_path(folder, component) if self.check_installs else None
        if found is None:
            return
        dest = found[0]
        shown = os.path.relpath(dest, self.root)
        shown = str(dest) if shown.startswith("..") else shown
        problem = installs.stale(component, dest, shown)
        if problem is None and found[1] == "git":
            leaked = installs.leak(dest, self.root)
            problem = None if leaked is None else ("error", leaked)
        if problem is None:
            return
        level, message = problem
        if level == "error":
            raise InputError(message, location=component.location)
        self.tree.diagnostics.append(
            Diagnostic("warning", message, component.location, code="install-unchecked")
        )

    def record(self, exc: FabrikateError, where: Location | None = None) -> None:
        """Keep going past ``exc`` (it becomes an error diagnostic), or raise it."""
        if not self.keep_going:
            raise exc
        location = exc.location or where
        self.tree.diagnostics.append(Diagnostic("error", exc.message, location, exc.component))

    def own_config(
        self, directory: Path, start: ConfigLayer, boundary: Path | None, where: str
    ) -> ConfigLayer:
        """Merge a component folder's own config files below ``start`` (spec §3.4)."""
        layout.check_definition(directory, boundary, self.layers, where)
        merged = start
        for env in self.layers:
            try:
                layer, problems = load_layer(directory, env, lenient=self.keep_going)
                self.tree.diagnostics.extend(problems)
                if layer is not None or problems:
                    self.found_envs.add(env)
                if layer is not None:
                    merged = merge(merged, layer)
            except FabrikateError as exc:
                self.record(exc, Location(str(config_file(directory, env))))
        return merged

    def load(
        self, directory: Path, boundary: Path | None, where: str, name: str | None = None
    ) -> Component:
        layout.check_definition(directory, boundary, (), where)
        component, problems = load_component(directory, lenient=self.keep_going, name=name)
        self.tree.diagnostics.extend(problems)
        return component

    def root_node(self) -> ResolvedComponent:
        # The local tree is the user's: with --allow-outside-root its paths may go anywhere.
        boundary = None if self.allow_outside_root else self.root
        component = self.load(self.root, boundary, "the tree")
        config = self.own_config(self.root, ConfigLayer(), boundary, "the tree")
        node = ResolvedComponent(component, "", self.root, config, boundary=boundary)
        if component.method == "git" and component.is_directory:
            # The root points at a remote definition (spec §2.6): its clone is the real root.
            failed = self.run_visits([replace(node, pointer=True)])
            if failed:
                raise next(iter(failed.values()))
            self.check_installed(self.root, component)
            clone = _clone(self.root, component.name)
            directory = _in_clone(clone, component.path, component.name)
            remote = self.load_directory(directory, component.name, clone, True)
            config = self.own_config(directory, config, clone, _FETCHED)
            node = ResolvedComponent(remote, "", directory, config, boundary=clone, remote=True)
        return node

    def load_directory(
        self, directory: Path, name: str, boundary: Path | None, remote: bool
    ) -> Component:
        if not directory.is_dir():
            hint = " (run 'fab install' first?)" if remote else ""
            raise InputError(
                f"component folder {directory} of subcomponent {name!r} does not exist{hint}"
            )
        return self.load(directory, boundary, _FETCHED if remote else "the tree", name)

    def run_visits(self, level: list[ResolvedComponent]) -> dict[str, FabrikateError]:
        """Visit a level; with keep_going, return the failed ones by id instead of raising."""
        if self.visit_when is not None:
            level = [node for node in level if self.visit_when(node)]
        if self.visit is None or not level:
            return {}
        visit = self.visit

        def one(node: ResolvedComponent) -> None:
            with component_context(node.id):
                visit(node)

        outcomes = run_parallel(one, level, self.jobs)
        if not self.keep_going:
            first_failure(outcomes)
            return {}
        failed = {}
        for node, outcome in zip(level, outcomes, strict=True):
            if isinstance(outcome, FabrikateError):
                failed[node.id] = outcome
            elif isinstance(outcome, Exception):
                raise outcome
        return failed

    def children(
        self, parent: ResolvedComponent, ancestors: tuple[str, ...]
    ) -> list[tuple[ResolvedComponent, tuple[str, ...]]]:
        found = []
        check_interrupted()
        names = set()
        for sub in parent.component.subcomponents:
            if check_name(sub.name) or sub.name in names:  # reported by the (lenient) load
                continue
            names.add(sub.name)
            try:
                found.extend(self.child(parent, sub, ancestors))
            except FabrikateError as exc:
                missing = sub.method == "git" and not self.installed(parent, sub)
                if self.keep_going and self.skip_missing and missing:
                    self.tree.not_installed.append(child_id(parent, sub.name))
                    continue
                self.record(exc, sub.location)
        return found

    def installed(self, parent: ResolvedComponent, sub: Component) -> bool:
        return layout.clone_dir(parent.physical_path, sub.name).is_dir()

    def child(
        self, parent: ResolvedComponent, sub: Component, ancestors: tuple[str, ...]
    ) -> list[tuple[ResolvedComponent, tuple[str, ...]]]:
        """The node of one subcomponent: none when it is disabled."""
        with component_context(child_id(parent, sub.name)):
            config = parent.config.sub(sub.name)
            self.tree.diagnostics.extend(_disabled_warnings(parent, sub.name, config))
            if config.disabled:
                log.info("subcomponent %s of %s is disabled", sub.name, parent.id)
                self.tree.disabled.append(child_id(parent, sub.name))
                return []
            self.check_installed(parent.physical_path, sub)
            if not sub.is_directory:
                node = ResolvedComponent(
                    sub,
                    parent.logical_path,
                    parent.physical_path,
                    config,
                    inline=True,
                    boundary=parent.boundary,
                    remote=parent.remote,
                )
                return [(self.place(node), ancestors)]
            return [self.directory_child(parent, sub, config, ancestors)]

    def directory_child(
        self,
        parent: ResolvedComponent,
        sub: Component,
        config: ConfigLayer,
        ancestors: tuple[str, ...],
    ) -> tuple[ResolvedComponent, tuple[str, ...]]:
        directory, boundary, remote = self.child_location(parent, sub)
        identity = _identity(sub, directory)
        if identity in ancestors:
            chain = " -> ".join((*ancestors[ancestors.index(identity) :], identity))
            raise InputError(f"component cycle: {chain}")
        component = self.load_directory(directory, sub.name, boundary, remote)
        merged = self.own_config(directory, config, boundary, _FETCHED if remote else "the tree")
        logical = (
            str(PurePosixPath(parent.logical_path) / sub.name) if parent.logical_path else sub.name
        )
        node = ResolvedComponent(
            component, logical, directory, merged, boundary=boundary, remote=remote
        )
        return self.place(node), (*ancestors, identity)

    def child_location(
        self, parent: ResolvedComponent, sub: Component
    ) -> tuple[Path, Path | None, bool]:
        """Physical path of a directory subcomponent (spec §2.5), checked against its boundary."""
        if sub.method == "git":
            clone = _clone(parent.physical_path, sub.name)
            return _in_clone(clone, sub.path, sub.name), clone, True
        directory = layout.subcomponent_dir(parent.physical_path, sub)
        boundary = parent.boundary
        problem = layout.escape(directory, boundary) if boundary is not None else None
        if problem:
            where = _FETCHED if parent.remote else "the tree"
            raise InputError(
                f"subcomponent {sub.name!r} points outside {where}: {problem}"
                + ("" if parent.remote else " (use --allow-outside-root)")
            )
        return directory, boundary, parent.remote

    def walk(self) -> None:
        root = self.place(self.root_node())
        level: list[tuple[ResolvedComponent, tuple[str, ...]]]
        level = [(root, (os.path.realpath(root.physical_path),))]
        while level:
            nodes = [node for node, _ in level]
            failed = self.run_visits(nodes)
            for error in failed.values():
                self.record(error)
            self.tree.components.extend(nodes)
            next_level = []
            for node, ancestors in level:
                if node.id not in failed:  # a failed visit (install) skips its subtree
                    next_level.extend(self.children(node, ancestors))
            level = next_level


def _identity(sub: Component, directory: Path) -> str:
    """What makes a directory component the same one again: its real folder, or for a git
    component (a fresh clone at every level) its repository, ref and path."""
    if sub.method != "git":
        return os.path.realpath(directory)
    from fabrikate.support.redact import redact_url

    ref = sub.version or sub.branch
    return (
        redact_url(sub.source) + (f"@{ref}" if ref else "") + (f"//{sub.path}" if sub.path else "")
    )


_FETCHED = "its fetched definition"


def _clone(parent: Path, name: str) -> Path:
    """A git component's clone, which fab owns: no link on the way to it."""
    return layout.own_folder(layout.clone_dir(parent, name), parent)


def _in_clone(clone: Path, path: str, name: str) -> Path:
    """The folder ``path`` of a git component's clone; a path leading out of it is an error."""
    directory = Path(os.path.normpath(layout.join_path(clone, path)))
    problem = layout.escape(directory, clone)
    if problem:
        raise InputError(f"component {name!r} points outside its clone: path {path!r} ({problem})")
    return directory


def walk(
    root: Path,
    environments: Sequence[str] = (),
    *,
    visit: Visit | None = None,
    found: Visit | None = None,
    jobs: int = 1,
    allow_outside_root: bool = False,
    keep_going: bool = False,
    skip_missing: bool = True,
    check_installs: bool = True,
    visit_when: Callable[[ResolvedComponent], bool] | None = None,
) -> Tree:
    """Walk the tree at ``root`` for ``environments`` (highest priority first).

    With ``keep_going`` (generate, validate, install) a broken subcomponent, config file, merge
    or failed visit becomes an error diagnostic and the walk goes on with the rest (a failed
    visit skips its subtree); a ``method: git`` subcomponent that is not installed is listed in
    ``not_installed`` unless ``skip_missing`` is off (then it is an error too). Only a root that
    cannot be read raises. ``check_installs`` compares installed components with their
    definitions (install, which replaces them, turns it off). ``visit_when`` limits the visits
    to the components it is true for.
    """
    layers = environment_layers(environments)
    tree = Tree(root=root, environments=tuple(environments))
    walker = _Walker(
        root,
        layers,
        visit,
        jobs,
        allow_outside_root,
        tree,
        keep_going,
        found,
        skip_missing=skip_missing,
        check_installs=check_installs,
        visit_when=visit_when,
    )
    try:
        walker.walk()
    except RecursionError as exc:
        raise InputError("the component tree is nested too deeply") from exc
    for env in dict.fromkeys(environments):
        if env != "common" and env not in walker.found_envs:
            tree.diagnostics.append(
                Diagnostic(
                    "warning",
                    f"environment {env!r} has no config file anywhere in the tree",
                    code="missing-environment",
                )
            )
    return tree


def duplicate_outputs(tree: Tree) -> list[FabrikateError]:
    """Two components may not write the same output file (one used to overwrite the other);
    a generate error, but no reason not to install."""
    seen: dict[str, ResolvedComponent] = {}
    errors = []
    for node in tree.components:
        if node.id in seen:
            errors.append(
                FabrikateError(
                    f"two components write {node.id}.yaml: {node.component.location} and "
                    f"{seen[node.id].component.location}",
                    component=node.id,
                )
            )
        seen.setdefault(node.id, node)
    return errors


def _disabled_warnings(
    parent: ResolvedComponent, name: str, config: ConfigLayer
) -> list[Diagnostic]:
    """Where Fabrikate's merge would have made a subcomponent enabled (or disabled) otherwise."""
    if bool(config.disabled) == config.fabrikate.disabled:
        return []
    mention = config.origins[0][0] if config.origins else "a higher layer"
    where = config.set_in.get("disabled", "a config file")
    return [
        Diagnostic(
            "warning",
            f"subcomponent {name!r} is disabled by {where}; Fabrikate rendered it because "
            f"{mention} mentions it without 'disabled' (fab re-enables only with an explicit "
            "'disabled: false')",
            component=child_id(parent, name),
            code="fabrikate-differs",
        )
    ]


def _config_warnings(node: ResolvedComponent) -> list[Diagnostic]:
    """Config for subcomponents the component does not have; namespace settings Fabrikate's
    merge would have coupled."""
    found = _unknown_subcomponents(node)
    config = node.config
    old = config.fabrikate
    if node.component.type == "helm" and (
        (config.namespace or "default", config.injects)
        != (old.namespace or "default", bool(old.inject_namespace and old.namespace))
    ):
        found.append(
            Diagnostic(
                "warning",
                f"renders into namespace {node.namespace!r} {_injection(config.injects)} "
                f"(namespace from {config.set_in.get('namespace', 'no file')}, injectNamespace "
                f"from {config.set_in.get('injectNamespace', 'no file')}); Fabrikate took both "
                "from the first layer that sets a namespace and rendered into "
                f"{old.namespace or 'default'!r} "
                f"{_injection(bool(old.inject_namespace and old.namespace))}",
                component=node.id,
                code="fabrikate-differs",
            )
        )
    return found


def _injection(injects: bool) -> str:
    return "with injection" if injects else "without injection"


def _unknown_subcomponents(node: ResolvedComponent) -> list[Diagnostic]:

    from fabrikate.support.yamlio import locate, parse_document

    names = [sub.name for sub in node.component.subcomponents]
    found = []
    for key, layer in node.config.subcomponents.items():
        if key in names:
            continue
        known = suggestion(key, names)
        location = None
        if layer.origins:
            file, prefix = layer.origins[0]
            try:
                location = locate(parse_document(Path(file))[1], list(prefix), file)
            except FabrikateError:
                location = Location(file)
        found.append(
            Diagnostic(
                "warning",
                f"config for subcomponent {key!r}, but {node.name!r} has no such subcomponent; "
                f"{known}",
                location,
                node.id,
                code="unknown-subcomponent",
            )
        )
    return found

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

from fabrikate import layout
from fabrikate.config import ConfigLayer, check_environment, config_file, load_layer, merge
from fabrikate.errors import Diagnostic, FabrikateError, InputError, Location, component_context
from fabrikate.interrupts import check_interrupted
from fabrikate.layout import check_name
from fabrikate.model import Component, load_component
from fabrikate.parallel import first_failure, run_parallel

__all__ = ["ResolvedComponent", "Tree", "environment_layers", "walk"]

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

    def place(self, node: ResolvedComponent) -> ResolvedComponent:
        """Tell ``found`` of a new component."""
        if self.found is not None:
            self.found(node)
        return node

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
                layer, problems = load_layer(directory, env)
                self.tree.diagnostics.extend(problems)
                if layer is not None:
                    self.found_envs.add(env)
                    merged = merge(merged, layer)
            except FabrikateError as exc:
                self.record(exc, Location(str(config_file(directory, env))))
        return merged

    def load(self, directory: Path, boundary: Path | None, where: str) -> Component:
        layout.check_definition(directory, boundary, (), where)
        component, problems = load_component(directory, lenient=self.keep_going)
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
        return self.load(directory, boundary, _FETCHED if remote else "the tree")

    def run_visits(self, level: list[ResolvedComponent]) -> dict[str, FabrikateError]:
        """Visit a level; with keep_going, return the failed ones by id instead of raising."""
        if self.visit is None:
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
        for sub in parent.component.subcomponents:
            if check_name(sub.name):  # already reported by the (lenient) load; not a path
                continue
            try:
                found.extend(self.child(parent, sub, ancestors))
            except FabrikateError as exc:
                if self.keep_going and sub.method == "git" and not self.installed(parent, sub):
                    self.tree.not_installed.append(f"{parent.id}/{sub.name}")
                    continue
                self.record(exc, sub.location)
        return found

    def installed(self, parent: ResolvedComponent, sub: Component) -> bool:
        return layout.clone_dir(parent.physical_path, sub.name).is_dir()

    def child(
        self, parent: ResolvedComponent, sub: Component, ancestors: tuple[str, ...]
    ) -> list[tuple[ResolvedComponent, tuple[str, ...]]]:
        """The node of one subcomponent: none when it is disabled."""
        with component_context(f"{parent.id}/{sub.name}"):
            config = parent.config.sub(sub.name)
            if config.disabled:
                log.info("subcomponent %s of %s is disabled", sub.name, parent.id)
                self.tree.disabled.append(f"{parent.id}/{sub.name}")
                return []
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
        base = Path(sub.source) if sub.source else Path(".")
        directory = base if base.is_absolute() else parent.physical_path / base
        if sub.path:
            directory = directory / sub.path
        directory = Path(os.path.normpath(directory))
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
    from fabrikate.redact import redact_url

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
    directory = Path(os.path.normpath(clone / path)) if path else clone
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
) -> Tree:
    """Walk the tree at ``root`` for ``environments`` (highest priority first).

    With ``keep_going`` (``fab validate``, ``fab install``) a broken subcomponent, config file,
    merge or failed visit becomes an error diagnostic and the walk goes on with the rest (a
    failed visit skips its subtree); a ``method: git`` subcomponent that is not installed is
    listed in ``not_installed``. Only a root that cannot be read raises.
    """
    layers = environment_layers(environments)
    tree = Tree(root=root, environments=tuple(environments))
    walker = _Walker(root, layers, visit, jobs, allow_outside_root, tree, keep_going, found)
    try:
        walker.walk()
    except RecursionError as exc:
        raise InputError("the component tree is nested too deeply") from exc
    try:
        _check_outputs(tree)
    except FabrikateError as exc:
        walker.record(exc)
    for env in dict.fromkeys(environments):
        if env != "common" and env not in walker.found_envs:
            tree.diagnostics.append(
                Diagnostic(
                    "warning", f"environment {env!r} has no config file anywhere in the tree"
                )
            )
    return tree


def _check_outputs(tree: Tree) -> None:
    """Two components may not write the same output file (one used to overwrite the other)."""
    seen: dict[str, ResolvedComponent] = {}
    for node in tree.components:
        if node.id in seen:
            raise FabrikateError(
                f"two components write {node.id}.yaml: {node.component.location} and "
                f"{seen[node.id].component.location}",
                component=node.id,
            )
        seen[node.id] = node

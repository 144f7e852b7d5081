"""The library API: everything the ``fab`` command does, callable from Python.

    import fabrikate

    tree = fabrikate.load("examples/trivia", ["prod"])
    result = fabrikate.generate("examples/trivia", ["prod"])
    print(result.output, [c.id for c in result.components])

Functions take plain values and return result objects; the CLI only parses and prints.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.cache import Cache, digest
from fabrikate.errors import Diagnostic, InputError
from fabrikate.layout import output_dir
from fabrikate.output import WriteResult
from fabrikate.settings import Settings

__all__ = ["GenerateResult", "Validation", "generate", "install", "load"]

if TYPE_CHECKING:
    from fabrikate.generators import ComponentResult
    from fabrikate.installer import InstallResult
    from fabrikate.progress import Progress
    from fabrikate.records.recording import Run
    from fabrikate.resolve import Tree

# The rendering layers are imported by the functions that use them: a run whose inputs did not
# change (``Settings.incremental``) returns before they would be imported.

log = logging.getLogger("fabrikate")


@dataclass
class GenerateResult:
    """What ``generate`` did.

    ``up_to_date`` means nothing changed since the last identical run, so nothing was rendered:
    ``components`` is then empty and ``files.unchanged`` lists the output.
    """

    root: Path
    environments: tuple[str, ...]
    output: Path
    components: list[ComponentResult] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    files: WriteResult | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    record: dict[str, Any] | None = None  # the deployment record written for this run
    up_to_date: bool = False
    validation: Validation | None = None  # with ``validate``: the check of every object

    @property
    def warnings(self) -> list[Diagnostic]:
        """Every warning of the run."""
        return [d for d in self.diagnostics if d.level == "warning"]


@dataclass
class Validation:
    """The offline check of every rendered object (``generate(validate=True)``)."""

    kube_version: str
    objects: int
    problems: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """The invalid objects."""
        return [p for p in self.problems if p.level == "error"]


def load(
    path: str | Path = ".",
    environments: Sequence[str] = (),
    *,
    settings: Settings | None = None,
) -> Tree:
    """Resolve the tree at ``path`` for ``environments`` without running anything."""
    return _load(Path(path), environments, settings or Settings.from_env())


def _load(root: Path, environments: Sequence[str], settings: Settings, found: Any = None) -> Tree:
    """``load``, telling ``found`` of each component as soon as it is placed."""
    from fabrikate.resolve import walk

    tree = walk(root, environments, found=found, allow_outside_root=settings.allow_outside_root)
    _check_environments(tree, settings)
    return tree


def _check_environments(tree: Tree, settings: Settings) -> None:
    if settings.strict:
        missing = [d for d in tree.diagnostics if "has no config file anywhere" in d.message]
        if missing:
            raise InputError(missing[0].message + " (--strict)")


def generate(
    path: str | Path = ".",
    environments: Sequence[str] = (),
    *,
    output: str | Path | None = None,
    settings: Settings | None = None,
    validate: bool = False,
    kube_version: str | None = None,
    progress: Progress | None = None,
) -> GenerateResult:
    """Render every component of the tree at ``path`` and write ``generated/<envs>/``.

    Every run, failed or not, is recorded in the store ``settings.records`` names. With
    ``settings.incremental``, a run whose inputs and output did not change since the last
    identical one renders nothing and returns ``up_to_date``. With ``validate``, every written
    object is checked offline against Kubernetes ``kube_version`` (default: the newest known)
    and the result lands in ``validation`` and in the record; the output is written either way.
    ``progress`` hears of each helm and static component as it starts and ends rendering.
    """
    settings = settings or Settings.from_env()
    root = Path(path)
    dest = Path(output) if output is not None else output_dir(root, list(environments))
    incremental = settings.incremental and settings.render_cache and not validate
    with tree_lock(root, settings):
        stamped = _Stamped(root, environments, dest, settings) if incremental else None
        if stamped is not None:
            result = stamped.up_to_date()
            if result is not None:
                return result
            stamped.scan()
        from fabrikate.records.recording import recording

        with recording(root, environments, settings) as run:
            result = run.result = _generate(root, environments, dest, settings, run, progress)
            if validate:
                result.validation = _validate(result, kube_version)
        if stamped is not None and run.tree is not None:
            stamped.save(run.tree, result)
    return result


def _validate(result: GenerateResult, kube_version: str | None) -> Validation:
    from fabrikate.validate import default_kube_version, validate_manifests

    version = kube_version or default_kube_version()
    files = [(str(result.output / c.file), c.id, c.documents) for c in result.components]
    problems, count = validate_manifests(files, version)
    return Validation(version, count, problems)


def tree_lock(root: Path, settings: Settings) -> contextlib.AbstractContextManager[None]:
    """One fab process at a time per tree; others wait (``settings.wait``) or fail clearly."""
    name = digest("tree", os.path.realpath(root))
    return Cache.default().lock("locks", name, wait=settings.wait, what=f"the tree at {root}")


class _Stamped:
    """The up-to-date check of one generate: the stamp of (tree, environments, output)."""

    def __init__(
        self, root: Path, environments: Sequence[str], dest: Path, settings: Settings
    ) -> None:
        from fabrikate import stamp

        self.root, self.environments, self.dest, self.settings = root, environments, dest, settings
        self.key = digest(
            "stamp", os.path.realpath(root), *environments, "", os.path.realpath(dest)
        )
        relevant = ("helm", "strict", "hooks", "allow_outside_root")
        self.facts = stamp.facts({name: getattr(settings, name) for name in relevant})
        self.before: Any = None

    def up_to_date(self) -> GenerateResult | None:
        """The result of a run that needs to render nothing, with its record written; or None."""
        from fabrikate import stamp
        from fabrikate.records.store import records_off

        started = time.perf_counter()
        payload = stamp.check(Cache.default(), self.key, self.root, self.dest, self.facts)
        recorded = not records_off(self.settings.records)
        if payload is None or (payload["record"] is None and recorded):
            return None
        result = GenerateResult(
            self.root,
            tuple(self.environments),
            self.dest,
            disabled=list(payload["disabled"]),
            files=WriteResult(self.dest, unchanged=list(payload["files"])),
            diagnostics=[Diagnostic.from_data(d) for d in payload["diagnostics"]],
            up_to_date=True,
        )
        result.timings["check"] = result.timings["total"] = time.perf_counter() - started
        if recorded:
            from fabrikate.records.recording import recording

            with recording(self.root, self.environments, self.settings) as run:
                run.result, run.facts = result, payload["record"]
        log.debug("%s is up to date", self.dest)
        return result

    def scan(self) -> None:
        """Note the inputs before the run reads them."""
        from fabrikate import stamp

        self.before = stamp.scan_inputs(self.root, self.dest)

    def save(self, tree: Tree, result: GenerateResult) -> None:
        """Stamp a successful run whose every input lies inside its tree (so a scan covers it)."""
        from fabrikate import stamp
        from fabrikate.generators import GENERATE_HOOKS, input_paths
        from fabrikate.records.build import tree_facts

        if result.files is None or any(
            n.component.hook(e) for n in tree.components for e in GENERATE_HOOKS
        ):
            return
        # Plain paths are enough: a link to a folder inside the tree makes the scan refuse one.
        root, dest = os.path.abspath(self.root), os.path.abspath(self.dest)
        outside = (os.path.join(root, "generated"), dest)
        for path in input_paths(tree):
            where = os.path.abspath(path)
            if not _inside(where, root) or any(_inside(where, o) for o in outside):
                return
        payload = {
            "files": sorted(result.files.written + result.files.unchanged),
            "disabled": list(result.disabled),
            "diagnostics": [d.to_data() for d in result.diagnostics],
            "record": tree_facts(result.record) if result.record else None,
        }
        stamp.save(
            Cache.default(), self.key, self.before, self.root, self.dest, self.facts, payload
        )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _generate(
    root: Path,
    environments: Sequence[str],
    dest: Path,
    settings: Settings,
    run: Run,
    progress: Progress | None = None,
) -> GenerateResult:
    from fabrikate.generators import Renderer, TreeRender, inject_namespaces, join_documents
    from fabrikate.output import write_tree
    from fabrikate.parallel import Pool

    started = time.perf_counter()
    result = GenerateResult(root, tuple(environments), dest)
    cache = Cache.default() if settings.render_cache else None
    with Pool(settings.jobs) as pool:
        renderer = Renderer(settings, cache)
        renders = TreeRender(settings, renderer, pool, progress=progress)
        tree = run.tree = _load(root, environments, settings, found=renders.offer)
        result.disabled = list(tree.disabled)
        result.diagnostics.extend(tree.diagnostics)
        result.timings["load"] = time.perf_counter() - started
        mark = time.perf_counter()
        result.components = renders.finish(tree)
        for item in result.components:
            result.diagnostics.extend(item.diagnostics)
        result.cache_hits, result.cache_misses = renderer.hits, renderer.misses
        result.timings["render"] = time.perf_counter() - mark
        mark = time.perf_counter()
        inject_namespaces(result.components, renderer)
        result.timings["inject"] = time.perf_counter() - mark
    mark = time.perf_counter()
    files = {c.file: join_documents(c.documents).encode() for c in result.components}
    result.files = write_tree(dest, files)
    result.timings["write"] = time.perf_counter() - mark
    if cache is not None and renderer.misses:
        cache.trim(["render", "inject", "parsed"], settings.render_cache_bytes, every=600)

    result.timings["total"] = time.perf_counter() - started
    return result


def install(
    path: str | Path = ".",
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
) -> InstallResult:
    """Fetch every remote component of the tree at ``path``; every failure is in the result."""
    from fabrikate.installer import install as run_install

    settings = settings or Settings.from_env()
    with tree_lock(Path(path), settings):
        return run_install(path, settings, progress=progress)

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

from fabrikate.errors import Diagnostic, FabrikateError, raise_all
from fabrikate.hld.layout import output_dir
from fabrikate.output import MANIFEST, WriteResult
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest

__all__ = [
    "GenerateResult",
    "Validation",
    "ValidationFailed",
    "generate",
    "install",
    "load",
    "render",
]

if TYPE_CHECKING:
    from fabrikate.hld.resolve import Tree
    from fabrikate.records.recording import Run
    from fabrikate.render.generators import ComponentResult
    from fabrikate.sources.installer import InstallResult
    from fabrikate.support.progress import Progress

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
    from fabrikate.hld.resolve import walk

    settings = settings or Settings.from_env()
    tree = walk(Path(path), environments, allow_outside_root=settings.allow_outside_root)
    raise_all(_strict(tree.diagnostics, settings))
    return tree


def _strict(diagnostics: Sequence[Diagnostic], settings: Settings) -> list[FabrikateError]:
    """With ``--strict``, every warning as an error."""
    if not settings.strict:
        return []
    return [d.escalated(" (--strict)").as_error() for d in diagnostics if d.level == "warning"]


class ValidationFailed(FabrikateError):
    """``generate(validate=True)`` found invalid objects; the output was written all the same
    (as Fabrikate's ``--validate`` did) and ``result`` tells the whole run."""

    def __init__(self, result: GenerateResult) -> None:
        assert result.validation is not None
        checked = result.validation
        super().__init__(f"{len(checked.errors)} of {checked.objects} objects are invalid")
        self.result = result


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
    and the result lands in ``validation`` and in the record; the output is written either way,
    and invalid objects raise ``ValidationFailed``. Every failing component is reported at
    once (``Failures`` when there are several); the old output then stays as it was.
    ``progress`` hears of each helm and static component as it starts and ends rendering.
    """
    settings = settings or Settings.from_env()
    root = Path(path)
    dest = Path(output) if output is not None else output_dir(root, list(environments))
    incremental = settings.incremental and settings.render_cache and not validate
    if validate:  # an unknown version fails before anything renders
        from fabrikate.api.validate import check_kube_version

        kube_version = check_kube_version(kube_version)
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
                assert kube_version is not None
                result.validation = _validate(result, kube_version)
                if result.validation.errors:
                    raise ValidationFailed(result)  # recorded as failed, with the findings
        if stamped is not None and run.tree is not None:
            stamped.save(run.tree, result)
    return result


def _validate(result: GenerateResult, kube_version: str) -> Validation:
    from fabrikate.api.validate import validate_manifests

    files = [(str(result.output / c.file), c.id, c.documents) for c in result.components]
    problems, count = validate_manifests(files, kube_version)
    return Validation(kube_version, count, problems)


def tree_lock(root: Path, settings: Settings) -> contextlib.AbstractContextManager[None]:
    """One fab process at a time per tree; others wait (``settings.wait``) or fail clearly."""
    name = digest("tree", os.path.realpath(root))
    return Cache.default().lock("locks", name, wait=settings.wait, what=f"the tree at {root}")


class _Stamped:
    """The up-to-date check of one generate: the stamp of (tree, environments, output)."""

    def __init__(
        self, root: Path, environments: Sequence[str], dest: Path, settings: Settings
    ) -> None:
        from fabrikate.api import stamp

        self.root, self.environments, self.dest, self.settings = root, environments, dest, settings
        self.key = digest(
            "stamp", os.path.realpath(root), *environments, "", os.path.realpath(dest)
        )
        relevant = ("helm", "strict", "hooks", "allow_outside_root")
        self.facts = stamp.facts({name: getattr(settings, name) for name in relevant})
        self.before: Any = None

    def up_to_date(self) -> GenerateResult | None:
        """The result of a run that needs to render nothing, with its record written; or None."""
        from fabrikate.api import stamp
        from fabrikate.records.stores import records_off

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
        from fabrikate.api import stamp

        self.before = stamp.scan_inputs(self.root, self.dest)

    def save(self, tree: Tree, result: GenerateResult) -> None:
        """Stamp a successful run whose every input lies inside its tree (so a scan covers it)."""
        from fabrikate.api import stamp
        from fabrikate.hld.hooks import has_generate_hooks
        from fabrikate.records.build import tree_facts
        from fabrikate.render.generators import input_paths

        if result.files is None or any(has_generate_hooks(n) for n in tree.components):
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
    from fabrikate.hld.layout import check_output_dir
    from fabrikate.output import write_tree
    from fabrikate.render.generators import join_documents

    started = time.perf_counter()
    check_output_dir(dest, root)  # the cheap checks first; the tree's folders after the walk
    result = GenerateResult(root, tuple(environments), dest)
    tree = render(result, settings, run, progress)
    mark = time.perf_counter()
    check_output_dir(dest, root, tree.components)
    files = {c.file: join_documents(c.documents).encode() for c in result.components}
    take_over = os.path.realpath(dest) == os.path.realpath(output_dir(root, environments))
    result.files = write_tree(dest, files, take_over=take_over)
    result.diagnostics.extend(_ownership_warnings(result.files))
    result.timings["write"] = time.perf_counter() - mark
    result.timings["total"] = time.perf_counter() - started
    return result


def render(
    result: GenerateResult,
    settings: Settings,
    run: Run | None = None,
    progress: Progress | None = None,
) -> Tree:
    """Walk and render the tree of ``result`` into it, without writing or recording anything
    (``run`` hears of the tree, ``progress`` of each component rendered). Every failure is
    collected, then raised at once."""
    from fabrikate.hld.resolve import duplicate_outputs, walk
    from fabrikate.render.generators import Renderer, TreeRender, inject_namespaces
    from fabrikate.support.parallel import Pool

    started = time.perf_counter()
    cache = Cache.default() if settings.render_cache else None
    with Pool(settings.jobs) as pool:
        renderer = Renderer(settings, cache)
        renders = TreeRender(settings, renderer, pool, progress=progress)
        tree = walk(
            result.root,
            result.environments,
            visit=renders.visit,
            visit_when=renders.hooked,
            found=renders.offer,
            jobs=settings.jobs,
            allow_outside_root=settings.allow_outside_root,
            keep_going=True,
            skip_missing=False,
        )
        if run is not None:
            run.tree = tree
        result.disabled = list(tree.disabled)
        errors = [d.as_error() for d in tree.diagnostics if d.level == "error"]
        errors.extend(duplicate_outputs(tree))
        result.diagnostics.extend(d for d in tree.diagnostics if d.level != "error")
        result.timings["load"] = time.perf_counter() - started
        mark = time.perf_counter()
        for outcome in renders.finish(tree):
            if isinstance(outcome, FabrikateError):
                errors.append(outcome)
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                result.components.append(outcome)
                result.diagnostics.extend(outcome.diagnostics)
        result.cache_hits, result.cache_misses = renderer.hits, renderer.misses
        result.timings["render"] = time.perf_counter() - mark
        raise_all(errors + _strict(result.diagnostics, settings), "errors; nothing was written")
        mark = time.perf_counter()
        inject_namespaces(result.components, renderer)
        result.timings["inject"] = time.perf_counter() - mark
    if cache is not None and renderer.misses:
        cache.trim(["render", "inject", "parsed"], settings.render_cache_bytes, every=600)
    return tree


def _ownership_warnings(files: WriteResult) -> list[Diagnostic]:
    """A folder taken over from Fabrikate or an earlier fab: the files it did not write now."""
    if not files.taken_over or not files.foreign:
        return []
    shown = ", ".join(files.foreign[:5]) + (" ..." if len(files.foreign) > 5 else "")
    return [
        Diagnostic(
            "warning",
            f"{files.destination} had no {MANIFEST} (written by Fabrikate or an earlier fab): "
            f"fab now owns the files it wrote; {len(files.foreign)} other files were left "
            f"alone ({shown}): remove them if they are stale",
        )
    ]


def install(
    path: str | Path = ".",
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
) -> InstallResult:
    """Fetch every remote component of the tree at ``path``; every failure is in the result."""
    from fabrikate.sources.installer import install as run_install

    settings = settings or Settings.from_env()
    with tree_lock(Path(path), settings):
        return run_install(path, settings, progress=progress)

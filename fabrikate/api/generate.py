"""``generate``: render every component of a tree and write ``generated/<envs>/``, with a
deployment record of the run.

    result = fabrikate.generate("examples/trivia", ["prod"])
    print(result.output, [c.id for c in result.components])
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.api.describing import complete, describer
from fabrikate.api.lock import tree_lock
from fabrikate.api.render import render
from fabrikate.api.results import GenerateResult, Validation
from fabrikate.api.uptodate import UpToDate
from fabrikate.errors import Diagnostic, ValidationFailed
from fabrikate.hld.layout import output_dir
from fabrikate.output import MANIFEST, WriteResult
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, held_writes

__all__ = ["generate"]

if TYPE_CHECKING:
    from fabrikate.hld.resolve import Tree
    from fabrikate.records.summary import Described
    from fabrikate.render.tree import ComponentResult
    from fabrikate.support.progress import Progress

# The rendering layers are imported by the functions that use them: a run whose inputs did not
# change (``Settings.incremental``) returns before they would be imported.

log = logging.getLogger("fabrikate")


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
        from fabrikate.render.validation import check_kube_version

        kube_version = check_kube_version(kube_version)
    # Cache entries are written on a thread as they are made (``held_writes``).
    with tree_lock(root, settings), held_writes():
        stamped = UpToDate(root, environments, dest, settings) if incremental else None
        if stamped is not None:
            result = stamped.up_to_date()
            if result is not None:
                return result
            stamped.scan()
        from fabrikate.records.recording import recording

        result = GenerateResult(root, tuple(environments), dest)
        walked: list[Tree] = []
        files: dict[str, bytes] | None = None
        described: dict[str, Described] = {}

        with recording(root, environments, settings, result.keep_record) as run:

            def rendering(tree: Tree) -> None:
                walked.append(tree)
                run.rendering.set()  # the renders are under way: the record's work may start

            cache = Cache.of(settings) if settings.render_cache else None
            try:
                describing = describer(described, cache) if run.recorded else None
                files = _generate(result, settings, rendering, progress, describing)
                if validate:
                    assert kube_version is not None
                    result.validation = _validate(result, kube_version)
                    if result.validation.errors:
                        raise ValidationFailed(result)  # recorded as failed, with the findings
            finally:
                if run.recorded:
                    from fabrikate.api.summary import summarize

                    tree = walked[0] if walked else None
                    if files is not None:
                        complete(described, result.components, cache)
                    run.summary = summarize(result, tree, files, settings, described)
        if stamped is not None and walked:
            stamped.save(walked[0], result)
    return result


def _validate(result: GenerateResult, kube_version: str) -> Validation:
    from fabrikate.render.validation import validate_manifests

    files = [(str(result.output / c.file), c.id, c.documents) for c in result.components]
    problems, count = validate_manifests(files, kube_version)
    return Validation(kube_version, count, problems)


def _generate(
    result: GenerateResult,
    settings: Settings,
    walked: Callable[[Tree], None],
    progress: Progress | None = None,
    rendered: Callable[[ComponentResult], None] | None = None,
) -> dict[str, bytes]:
    """Render into ``result`` and write its output; the bytes of every file written
    (``rendered``: see ``render``)."""
    from fabrikate.hld.layout import check_output_dir
    from fabrikate.output import Stage, write_tree
    from fabrikate.render.documents import join_documents

    started = time.perf_counter()
    root, dest = result.root, result.output
    check_output_dir(dest, root)  # the cheap checks first; the tree's folders after the walk
    stage = Stage(dest)

    def staging(tree: Tree) -> None:
        walked(tree)
        if _stages(dest, root, tree):
            stage.open()

    def done(component: ComponentResult) -> None:
        if rendered is not None:
            rendered(component)
        if stage.path is not None:
            stage.add(component.file, join_documents(component.documents).encode())

    try:
        tree = render(result, settings, staging, progress, done)
        mark = time.perf_counter()
        if stage.path is None:  # else checked once the walk ended, as the stage opened
            check_output_dir(dest, root, tree.components)
        files = {c.file: join_documents(c.documents).encode() for c in result.components}
        take_over = os.path.realpath(dest) == os.path.realpath(
            output_dir(root, result.environments)
        )
        result.files = write_tree(dest, files, take_over=take_over, stage=stage)
    finally:
        stage.discard()  # a run that failed; nothing once the stage became the output
    result.diagnostics.extend(_ownership_warnings(result.files))
    result.timings["write"] = time.perf_counter() - mark
    result.timings["total"] = time.perf_counter() - started
    return files


def _stages(dest: Path, root: Path, tree: Tree) -> bool:
    """Whether the output is written as the tree renders (``Stage``): into a folder that
    does not exist yet, away from every folder of the walked tree, with no generate hook
    that might change either and no error that fails the run anyway."""
    from fabrikate.errors import FabrikateError
    from fabrikate.hld.hooks import has_generate_hooks
    from fabrikate.hld.layout import check_output_dir

    if os.path.lexists(dest) or any(d.level == "error" for d in tree.diagnostics):
        return False
    if any(has_generate_hooks(node) for node in tree.components):
        return False
    try:
        check_output_dir(dest, root, tree.components)
    except FabrikateError:  # reported once the tree is rendered, as ever
        return False
    return True


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

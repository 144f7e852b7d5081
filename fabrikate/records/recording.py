"""One record per ``fab generate``, whether it succeeds or fails.

    with recording(root, ["prod"], settings, told=keep) as run:
        ...                                    # the run
        if run.recorded:
            run.summary = RunSummary(...)      # what the record says about the tree

Writing never fails the generation unless ``settings.record_required``; a failed write is a
warning (a bug in fab is not: it fails the run). A PR-validation run is recorded but never
projected as a deployment (bedrock#1333).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import Diagnostic, FabrikateError, Interrupted, RecordsError
from fabrikate.records.run import Run, Told
from fabrikate.records.stores import open_store, records_off

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store
    from fabrikate.settings import Settings

# Building and projecting records (yaml, git, the Spektate rows) is imported when a record is
# written, so a run with records off pays nothing for them.

__all__ = ["project", "record_generation", "recording", "write_record"]

log = logging.getLogger("fabrikate")


@contextlib.contextmanager
def recording(
    path: str | Path, environments: Sequence[str], settings: Settings, told: Told | None = None
) -> Iterator[Run]:
    """Collect what the generation inside the block did, then record it; ``told`` hears of
    the record and of the warnings of writing it (a failed write, say)."""
    run = Run(Path(path), tuple(environments), settings, datetime.now(UTC), told=told)
    if records_off(settings.records):
        run.recorded = False
        yield run
        return
    # A required record's store is opened before anything is rendered or written: when it
    # cannot be reached, the run fails with nothing on disk changed.
    store = _open_required(settings) if settings.record_required else None
    _prepare(run, with_store=store is None)
    try:
        yield run
    except KeyboardInterrupt as exc:
        run.error, run.canceled = exc, True
        raise
    except BaseException as exc:
        run.error = exc
        raise
    finally:
        run.finished = datetime.now(UTC)
        run.rendering.set()
        record_generation(run, store)


def _prepare(run: Run, with_store: bool) -> None:
    """Collect on a thread, while the run renders, what its record takes from outside the run:
    helm's version, the HLD's git facts and ring map as the run starts, then, once
    ``run.rendering`` is set, (``with_store``) the open store. ``record_generation`` waits for
    it, so no record is lost."""
    import threading
    from concurrent.futures import Future

    future: Future[tuple[dict[str, Any], Store | None]] = Future()

    def collect() -> None:
        try:
            from fabrikate.records import build

            _ask_helm(run.settings)
            facts = build.early_facts(run, os.environ)
            run.rendering.wait()
            # What building and writing the record imports, imported while the run renders.
            from fabrikate.records import deployments, images, objects, summary  # noqa: F401

            store = open_store(run.settings.records) if with_store else None
            future.set_result((facts, store))
        except BaseException as exc:  # handed to record_generation, which decides
            future.set_exception(exc)

    run.early = future
    threading.Thread(target=collect, name="fab-record-facts", daemon=True).start()


def _ask_helm(settings: Settings) -> None:
    """Ask helm its version into the cache, where the record's summary finds it."""
    # At the start the walk holds one core and the other is idle: asked at the end, the record
    # waited for helm (a quarter of the tail of a cold 40-chart run).
    from fabrikate.support.cache import Cache
    from fabrikate.support.helm import version

    # On a failure (or an interrupt) the summary asks again, and says.
    with contextlib.suppress(FabrikateError, OSError, Interrupted):
        version(settings.helm, Cache.of(settings))


def _open_required(settings: Settings) -> Store | None:
    from fabrikate.records.mask import mask_text

    try:
        return open_store(settings.records)
    except (FabrikateError, OSError) as exc:  # the store is unreachable: the record is required
        message = f"cannot open the deployment records store: {mask_text(str(exc))}"
        raise RecordsError(message + " (--record-required)") from exc


def record_generation(run: Run, store: Store | None = None) -> dict[str, Any] | None:
    """Build and store ``run``'s record (into ``store`` if it is open already, which is then
    closed); a failure warns unless the record is required."""
    from fabrikate.records.build import build_record
    from fabrikate.records.mask import mask_text

    try:
        early: dict[str, Any] | None = None
        opened: Store | None = None
        if run.early is not None:
            early, opened = run.early.result()
        with contextlib.ExitStack() as closing:
            if opened is not None:
                closing.push(opened)  # closed even when building the record fails
            record = build_record(run, os.environ, early)
            target: Store | None = store or opened or open_store(run.settings.records)
            if target is None:
                return None
            if target is not opened:
                closing.push(target)
            write_record(target, record)
            url = target.url
    # A store that cannot be reached or written must not break the generation; a bug in
    # building the record is not caught here: it shows, as every bug does (exit 3).
    except (FabrikateError, OSError) as exc:
        message = f"could not write the deployment record: {mask_text(str(exc))}"
        if run.settings.record_required and run.error is None:
            raise RecordsError(message + " (--record-required)") from exc
        _warn(run, message)
        return None
    log.debug("recorded %s in %s", record["rowKey"], mask_text(url))
    if run.told is not None:
        run.told(record, [])
    return record


def _warn(run: Run, message: str) -> None:
    if run.told is not None and run.error is None:
        run.told(None, [Diagnostic("warning", message)])
    else:
        log.warning("%s", message)


def write_record(store: Store, record: dict[str, Any]) -> None:
    """Store ``record`` (deciding ``output.changed``) and project it as a deployment row."""
    output = record.get("output")
    if output:
        previous = store.records(
            scope=record["scope"],
            environment=record["environment"],
            outcome="succeeded",
            limit=1,
        )
        before = (previous[0].get("output") or {}).get("digest") if previous else None
        output["changed"] = before != output["digest"]
    store.add(record)
    if not record["ci"]["validationOnly"]:
        project(store, record)


def project(store: Store, record: Mapping[str, Any]) -> str | None:
    """Merge the record into the Spektate deployment rows like stage 3a (spec §6.3)."""
    from fabrikate.records.deployments import Stage, create
    from fabrikate.records.mask import strip_credentials

    hld, run_id = record["hld"], record["ci"]["runId"]
    if not ((run_id and hld.get("commitShort")) or record.get("correlationId")):
        return None  # Spektate shows no row without a CI run; the native record is enough
    manifest = record.get("manifest") or {}
    extra = {"fabRecordId": record["id"]}
    if hld.get("repo"):
        extra["hldRepo"] = strip_credentials(hld["repo"]).lower()
    stage = Stage(
        p3=run_id or None,
        hld_commit_id=hld.get("commitShort"),
        pr=hld.get("pr"),
        env=record.get("ring") or record["environment"],
        service=record.get("service"),
        manifest_commit_id=manifest.get("commitShort"),
        repository=manifest.get("repo"),
        correlation_id=record.get("correlationId"),
        extra=extra,
    )
    return create(store, record["scope"], stage)

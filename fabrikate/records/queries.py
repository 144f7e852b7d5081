"""The one query layer of the CLI and the dashboard: JSON-ready answers (camelCase keys).

    with open_store(url, create=False) as store:
        grid = matrix(store, Filters.from_params(request.query_params))
        page = deployments(store, Filters(ring="canary"), cursor=None, limit=50)
        print(page.to_data()["next"])

No answer reads all records: lists are keyset pages (``Store.query(before=..., limit=...)``),
the matrix reads the store's latest table, and every other answer reads a bounded number of
records named by id, manifest commit or group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fabrikate.errors import FabrikateError, InputError, NotFound
from fabrikate.records.clusters import Clusters
from fabrikate.records.compare import (
    CLI_SPELLING,
    URL_SPELLING,
    Spelling,
    changes,
    compare,
    get_record,
    previous,
)
from fabrikate.records.filters import Filters, Page, cursor_after, read_cursor
from fabrikate.records.journey import failing, journey, journey_lead_time, reproduce
from fabrikate.records.matrix import matrix
from fabrikate.records.metrics import figures
from fabrikate.records.overview import services, summary
from fabrikate.records.places import cluster, ring
from fabrikate.records.stores.base import RecordQuery
from fabrikate.records.stores.facts import order_key
from fabrikate.records.view import log, parse_since

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent, Mark
    from fabrikate.records.gitinfo import Ancestry
    from fabrikate.records.stores.base import Store
    from fabrikate.records.stores.dora import Deployment

__all__ = [
    "CLI_SPELLING",
    "URL_SPELLING",
    "Filters",
    "Page",
    "Spelling",
    "cluster",
    "compare",
    "deployment",
    "deployments",
    "environment_history",
    "health",
    "matrix",
    "metrics",
    "ring",
    "services",
    "summary",
    "version_log",
]

MAX_LIMIT = 500  # rows of one page
SCAN = 2000  # records one page may read past collapsed or filtered-out ones before it stops
EVENTS = 500  # events read for one record or one cluster
METRIC_RECORDS = 50_000  # records one metrics answer reads (the window and the one before)
GROUPINGS = ("environment", "ring", "service")  # what metrics may group by
LOG_BATCH = 200  # records a version log reads first (then twice as many each time)
LOG_READ = 20_000  # records one version log answer reads at most
LOG_SETTLE = 50  # earlier records of a group read to tell whether its oldest read one changed


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit {limit}: want 1 to {MAX_LIMIT}")
    return limit


def _commit(record: Mapping[str, Any]) -> str | None:
    return (record.get("manifest") or {}).get("commit") or None


def _events_of_all(
    store: Store, records: Sequence[Mapping[str, Any]]
) -> dict[str, list[ClusterEvent]]:
    """``_events_of`` each record, by (lower case) manifest commit, in one read."""
    commits = sorted({commit.lower() for r in records if (commit := _commit(r))})
    found: dict[str, list[ClusterEvent]] = {}
    for event in store.events(revisions=commits) if commits else []:
        mine = found.setdefault(event.revision or "", [])
        if len(mine) < EVENTS:
            mine.append(event)
    return found


def _events_of(store: Store, record: Mapping[str, Any]) -> list[ClusterEvent]:
    """The events about the record's manifest commit (the newest ``EVENTS``)."""
    commit = _commit(record)
    return store.events(revision=commit, limit=EVENTS) if commit else []


def _scan(
    store: Store, query: RecordQuery, limit: int, keep: Callable[[Mapping[str, Any]], bool]
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Up to ``limit`` records ``keep`` accepts, the next cursor, and how many were skipped;
    reads at most ``SCAN`` records past the skipped ones (then the page is short)."""
    found: list[dict[str, Any]] = []
    skipped, read, before = 0, 0, query.before
    batch = limit + 1
    while True:
        rows = store.query(query._replace(before=before, limit=batch))
        for record in rows:
            if len(found) == limit:
                return found, cursor_after(found[-1]), skipped
            read += 1
            before = order_key(record)
            if keep(record):
                found.append(record)
            else:
                skipped += 1
        if len(rows) < batch:
            return found, None, skipped
        if read >= SCAN and before is not None:
            return found, _cursor_at(before), skipped
        batch = max(2 * limit, 100)


def _cluster_revisions(store: Store, name: str) -> set[str]:
    """The manifest commits a cluster reported (its newest ``EVENTS`` events)."""
    return {e.revision for e in store.events(cluster=name, limit=EVENTS) if e.revision}


def deployments(
    store: Store,
    filters: Filters,
    *,
    cursor: str | None = None,
    limit: int = 50,
    collapse: bool = True,
) -> Page:
    """One page of records, newest first, as summaries; runs whose output did not change are
    left out (``collapsed`` counts them) unless ``collapse`` is False."""
    query = filters.query(before=read_cursor(cursor) if cursor else None)
    revisions = _cluster_revisions(store, filters.cluster) if filters.cluster else None

    def keep(record: Mapping[str, Any]) -> bool:
        if collapse and (record.get("output") or {}).get("changed") is False:
            return False
        commit = (record.get("manifest") or {}).get("commit")
        return revisions is None or commit in revisions

    found, after, skipped = _scan(store, query, _limit(limit), keep)
    events = _events_of_all(store, found)
    items = [summary(r, events.get((_commit(r) or "").lower(), [])) for r in found]
    return Page(items, after, {"collapsed": skipped} if collapse else None)


def deployment(store: Store, ref: str, *, ancestry: Ancestry | None = None) -> dict[str, Any]:
    """One record in full: its summary, journey (with the failing stage), the newest ``EVENTS``
    events (``eventsTotal``: how many there are), marks,
    the commands that reproduce it, its lead time (from the source commit; None and why when
    unknown) and what changed since the previous one;
    with ``ancestry``, the clusters past its manifest commit (``superseded``)."""
    record = get_record(store, ref)
    events = _events_of(store, record)
    commit = _commit(record)
    total = store.event_count(commit) if commit and len(events) == EVENTS else len(events)
    stages = journey(record, events)
    stage = failing(stages)
    lead, unknown = journey_lead_time(record, events)
    past = Clusters(store.latest_events(), ancestry).superseding(record) if ancestry else []
    return {
        "record": record,
        "summary": summary(record, events),
        "journey": [s.to_data() for s in stages],
        "failing": stage.to_data() if stage else None,
        "events": [e.to_data() for e in events],
        "eventsTotal": total,
        "marks": [_mark(m) for m in store.marks([record["id"]])],
        "reproduce": reproduce(record),
        "leadTimeSeconds": lead,
        "leadTimeUnknown": unknown,
        "changes": changes(previous(store, record), record),
        "superseded": past,
    }


def version_log(
    store: Store,
    filters: Filters,
    subject: Mapping[str, str],
    *,
    cursor: str | None = None,
    limit: int = 20,
) -> Page:
    """The newest ``limit`` changes of an image, service or component (``subject``: one of
    ``image``, ``service``, ``component``), newest first. Records are read newest first in
    growing batches until one change more than shown is known, the records end, or
    ``LOG_READ`` are read; ``next`` goes on below the last change shown (or record read), and
    ``read`` says how many records were read."""
    query = filters.query(**subject, before=read_cursor(cursor) if cursor else None)
    limit = _limit(limit)
    records: list[dict[str, Any]] = []
    settled: dict[str, dict[str, Any] | None] = {}
    before, batch = query.before, LOG_BATCH
    while True:
        rows = store.query(query._replace(before=before, limit=batch))
        records.extend(rows)
        done = len(rows) < batch
        before = order_key(rows[-1]) if rows else before
        found: list[dict[str, Any]] = []
        for change in log(records, **subject):
            kept: dict[str, Any] | None = change
            if change["from"] is None and not done:  # the oldest read of its group
                if change["id"] not in settled:
                    settled[change["id"]] = _settle(store, subject, records, change["id"])
                kept = settled[change["id"]]
            if kept is not None:
                found.append(kept)
            if len(found) > limit:
                break
        if len(found) > limit or done or len(records) >= LOG_READ:
            break
        batch = min(2 * batch, LOG_READ - len(records))
    shown = found[:limit]
    if len(found) > limit:
        after: str | None = cursor_after(shown[-1])
    else:
        after = None if done or before is None else _cursor_at(before)
    return Page(shown, after, {"read": len(records), "more": len(found) > limit})


def _cursor_at(key: tuple[str, str]) -> str:
    """The cursor of what comes after the order key (startedAt, id)."""
    return cursor_after({"startedAt": key[0], "id": key[1]})


def _settle(
    store: Store,
    subject: Mapping[str, str],
    records: Sequence[Mapping[str, Any]],
    record_id: str,
) -> dict[str, Any] | None:
    """The change a record makes against the ``LOG_SETTLE`` earlier records of its group
    (None: it changed nothing)."""
    record = next(r for r in records if r["id"] == record_id)
    # A service names the group by indexed columns: the subject's filter (an image substring
    # is a scan) is left to ``log``; without one, it keeps other services out of the batch.
    base = RecordQuery()
    if not record.get("service"):
        base = RecordQuery(
            image=subject.get("image"),
            service=subject.get("service"),
            component=subject.get("component"),
        )
    group = base._replace(
        scope=record["scope"],
        environment=record["environment"],
        ring=record.get("ring"),
        service=record.get("service") or base.service,
        before=order_key(record),
        limit=LOG_SETTLE,
    )
    again = log([record, *store.query(group)], **subject)
    return next((c for c in again if c["id"] == record_id), None)


def _mark(mark: Mark) -> dict[str, Any]:
    return {
        "recordId": mark.record_id,
        "kind": mark.kind,
        "note": mark.note,
        "by": mark.by,
        "at": mark.at,
    }


def environment_history(
    store: Store, environment: str, *, cursor: str | None = None, limit: int = 20
) -> Page:
    """Consecutive generations of one environment, newest first, each with what changed
    since the previous succeeded one of its group."""
    query = RecordQuery(environment=environment, before=read_cursor(cursor) if cursor else None)
    found, after, _ = _scan(store, query, _limit(limit), lambda _: True)
    if not found and cursor is None:
        raise NotFound(f"no records of environment {environment[:60]!r}")
    events = _events_of_all(store, found)
    items = []
    for index, record in enumerate(found):
        group = (record["scope"], record.get("ring"), record.get("service"))
        later = found[index + 1 :]
        old = next(
            (
                r
                for r in later
                if (r["scope"], r.get("ring"), r.get("service")) == group
                and r["outcome"] == "succeeded"
            ),
            None,
        )
        old = old or previous(store, record)
        mine = events.get((_commit(record) or "").lower(), [])
        items.append({**summary(record, mine), "changes": changes(old, record)})
    return Page(items, after)


def _window(filters: Filters, window: str) -> tuple[datetime, datetime]:
    until_iso, since_iso = filters.until_iso, filters.since_iso
    until = datetime.fromisoformat(until_iso) if until_iso else datetime.now(UTC)
    if since_iso:
        return datetime.fromisoformat(since_iso), until
    try:
        start = datetime.fromisoformat(parse_since(window, now=until))
    except InputError:
        raise InputError(f"window {window[:40]!r}: want an age like 7d or 30d") from None
    if start >= until or until - start > timedelta(days=366):
        raise InputError(f"window {window[:40]!r}: want more than nothing and at most a year")
    return start, until


def metrics(
    store: Store, filters: Filters, *, window: str = "30d", by: Sequence[str] | None = None
) -> dict[str, Any]:
    """The DORA figures over the window per group: ``by`` environment and ring (and service
    when a service is filtered), or the given ones of ``GROUPINGS``. Within a group, figures
    follow each (scope, environment, ring, service); a rollback is looked for in the window
    and in one as long before it."""
    keys = tuple(by) if by is not None else GROUPINGS[: 3 if filters.service else 2]
    if not set(keys) <= set(GROUPINGS):
        raise InputError(f"group by {', '.join(keys)[:60]!r}: want some of {', '.join(GROUPINGS)}")
    since, until = _window(filters, window)
    history_from = since - (until - since)
    query = filters.query(
        since=history_from.isoformat(), until=until.isoformat(), limit=METRIC_RECORDS
    )
    facts = store.dora_facts(query, since.isoformat())
    index = [GROUPINGS.index(k) for k in keys]
    key_of = {place: tuple(place[i] or "" for i in index) for place in facts.places}
    groups: dict[tuple[str, ...], list[Deployment]] = {key: [] for key in key_of.values()}
    for row in facts.deployments:
        groups[key_of[row[2:5]]].append(row)  # its (environment, ring, service)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "by": list(keys),
        "records": facts.records,
        "truncated": facts.records == METRIC_RECORDS,
        "groups": [
            {
                **{k: dict(zip(keys, key, strict=True)).get(k) or None for k in GROUPINGS},
                "figures": [f.to_data() for f in figures(group, since, until)],
            }
            for key, group in sorted(groups.items())
        ],
    }


def health(store: Store) -> dict[str, Any]:
    """Whether the store answers, its newest record, and each cluster's last event."""
    from fabrikate.records.mask import mask_text

    try:
        newest = store.query(RecordQuery(limit=1))
        clusters = store.clusters()
    except (FabrikateError, OSError) as exc:
        return {"ok": False, "error": mask_text(str(exc)), "lastRecord": None, "clusters": {}}
    last = newest[0] if newest else None
    return {
        "ok": True,
        "lastRecord": {
            "id": last["id"],
            "startedAt": last["startedAt"],
            "environment": last["environment"],
        }
        if last
        else None,
        "clusters": clusters,
    }

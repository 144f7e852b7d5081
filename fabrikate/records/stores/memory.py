"""A record store in memory, for tests: ``memory://NAME`` (every open of one name in a process
sees the same records; nothing is kept after it).

    with open_store("memory://run") as store:
        store.add(record)
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from fabrikate.errors import RecordsError
from fabrikate.records.stores.base import RecordQuery, Row, Store
from fabrikate.records.stores.facts import (
    event_key,
    event_matches,
    glance,
    latest_key,
    matches,
    order_key,
    prunable,
)

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent, Mark

__all__ = ["MemoryStore"]


@dataclass
class _Tables:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
    latest: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    events: dict[str, ClusterEvent] = field(default_factory=dict)
    latest_events: dict[tuple[str, ...], ClusterEvent] = field(default_factory=dict)
    marks: list[Mark] = field(default_factory=list)
    changes: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)


_NAMED: dict[str, _Tables] = {}
_NAMED_LOCK = threading.Lock()


class MemoryStore(Store):
    """Records and deployment rows in lists, newest first on the way out."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        with _NAMED_LOCK:
            if not create and url not in _NAMED:
                raise RecordsError(f"no records store {url} (nothing was recorded there)")
            self._tables = _NAMED.setdefault(url, _Tables())

    def add(self, record: Mapping[str, Any]) -> None:
        """Store one native record (a copy: later changes to ``record`` do not show)."""
        stored = copy.deepcopy(dict(record))
        with self._tables.lock:
            if stored["id"] in self._tables.records:
                raise RecordsError(f"record {stored['id']} is already stored")
            self._tables.records[stored["id"]] = stored
            key = latest_key(stored)
            current = self._tables.latest.get(key) if key else None
            if key and (current is None or order_key(stored) > order_key(current)):
                self._tables.latest[key] = glance(stored)
            self._tables.changes += 1

    def query(self, q: RecordQuery) -> list[dict[str, Any]]:
        """The records ``q`` matches, newest first."""
        with self._tables.lock:
            found = [r for r in self._tables.records.values() if matches(r, q)]
            found.sort(key=order_key, reverse=True)
            return copy.deepcopy(found[: q.limit] if q.limit is not None else found)

    def latest(
        self, *, scope: str | None = None, environment: str | None = None, ring: str | None = None
    ) -> list[dict[str, Any]]:
        """The glance of the newest succeeded non-PR record per (scope, service, ring,
        environment), newest first."""
        wanted = (scope, None, ring, environment)
        with self._tables.lock:
            found = [
                record
                for key, record in self._tables.latest.items()
                if all(w is None or w == k for w, k in zip(wanted, key, strict=True))
            ]
            found.sort(key=order_key, reverse=True)
            return copy.deepcopy(found)

    def get(self, ref: str) -> dict[str, Any]:
        """The record whose id or row key is, or starts with, ``ref``."""
        ref = ref.strip().lower()
        found = [
            r for r in self.records() if ref in (r["id"], r["rowKey"]) or r["id"].startswith(ref)
        ]
        return self.pick(ref, found[:5])

    def prune(
        self, *, before: str, keep_latest_per_environment: bool, dry_run: bool = False
    ) -> list[str]:
        """Remove the records started before ``before``; their ids, newest first."""
        tables = self._tables
        with tables.lock:
            ids = prunable(
                tables.records.values(),
                before=before,
                keep_latest=keep_latest_per_environment,
                latest_ids=[r["id"] for r in tables.latest.values()],
            )
            if dry_run or not ids:
                return ids
            gone = set(ids)
            for ident in ids:
                del tables.records[ident]
            # the latest of a key that lost its record is older than every other of its key
            for key in [k for k, r in tables.latest.items() if r["id"] in gone]:
                del tables.latest[key]
            tables.marks = [m for m in tables.marks if m.record_id not in gone]
            tables.changes += 1
            return ids

    # events and marks
    def add_event(self, event: ClusterEvent) -> bool:
        """Store one event; False when its id is already stored."""
        with self._tables.lock:
            if event.id in self._tables.events:
                return False
            self._tables.events[event.id] = event
            key, latest = event_key(event), self._tables.latest_events
            if key not in latest or (event.at, event.id) > (latest[key].at, latest[key].id):
                latest[key] = event
            self._tables.changes += 1
            return True

    def add_events(self, events: Iterable[ClusterEvent]) -> int:
        """Store many events; how many were new."""
        with self._tables.lock:
            return sum(self.add_event(event) for event in events)

    def events(
        self,
        *,
        cluster: str | None = None,
        revision: str | None = None,
        revisions: Sequence[str] | None = None,
        since: str | None = None,
        before: str | tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[ClusterEvent]:
        """Events, newest first."""
        with self._tables.lock:
            found = [
                e
                for e in self._tables.events.values()
                if event_matches(
                    e,
                    cluster=cluster,
                    revision=revision,
                    revisions=revisions,
                    since=since,
                    before=before,
                )
            ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return found[:limit] if limit is not None else found

    def latest_events(self, *, cluster: str | None = None) -> list[ClusterEvent]:
        """The newest event per (cluster, source, kind, namespace, name), newest first."""
        with self._tables.lock:
            found = [
                e
                for e in self._tables.latest_events.values()
                if cluster is None or e.cluster == cluster
            ]
        return sorted(found, key=lambda e: (e.at, e.id), reverse=True)

    def clusters(self) -> dict[str, str]:
        """Each cluster named by an event, with the time of its last event."""
        last: dict[str, str] = {}
        with self._tables.lock:
            for event in self._tables.latest_events.values():
                if event.cluster is not None:
                    last[event.cluster] = max(last.get(event.cluster, ""), event.at)
        return dict(sorted(last.items()))

    def add_mark(self, mark: Mark) -> None:
        """Store one mark (its time is now when it has none)."""
        from fabrikate.records.stores.sql import now

        with self._tables.lock:
            self._tables.marks.append(replace(mark, at=mark.at or now()))
            self._tables.changes += 1

    def marks(self, record_ids: Sequence[str] | None = None) -> list[Mark]:
        """The marks of ``record_ids`` (all when None), oldest first."""
        wanted = None if record_ids is None else set(record_ids)
        with self._tables.lock:
            found = [m for m in self._tables.marks if wanted is None or m.record_id in wanted]
        return sorted(found, key=lambda m: m.at or "")

    def change_count(self) -> int:
        """Writes so far."""
        with self._tables.lock:
            return self._tables.changes

    def find_rows(self, scope: str, name: str, value: str) -> list[Row]:
        """Rows of ``scope`` whose field ``name`` equals ``value``, newest first."""
        return [
            row
            for row in self.rows(scope)
            if (row.row_key if name == "RowKey" else row.fields.get(name)) == value
        ]

    def rows(self, scope: str | None, limit: int | None = None) -> list[Row]:
        """Rows (of every scope when None), newest first."""
        with self._tables.lock:
            found = [copy.deepcopy(r) for r in self._tables.rows.values()]
        found = [r for r in found if scope is None or r.scope == scope]
        found.sort(key=lambda r: r.row_key)
        found.sort(key=lambda r: r.created, reverse=True)
        return found[:limit] if limit is not None else found

    def insert_row(self, row: Row) -> bool:
        """Insert a new row; False if its key is taken."""
        from fabrikate.records.stores.sql import now

        with self._tables.lock:
            if (row.scope, row.row_key) in self._tables.rows:
                return False
            stamp = now()
            stored = replace(row, fields=dict(row.fields), version="1", created=stamp)
            self._tables.rows[(row.scope, row.row_key)] = replace(stored, updated=stamp)
            return True

    def merge_row(self, row: Row, fields: Mapping[str, str]) -> bool:
        """Merge ``fields`` into ``row``; False if it changed since it was read."""
        from fabrikate.records.stores.sql import now

        with self._tables.lock:
            current = self._tables.rows.get((row.scope, row.row_key))
            if current is None or current.version != row.version:
                return False
            self._tables.rows[(row.scope, row.row_key)] = replace(
                current,
                fields={**current.fields, **fields},
                version=str(int(current.version) + 1),
                updated=now(),
            )
            return True

    def lock(self, scope: str) -> Any:
        """Correlation of one scope, one thread at a time."""
        return self._tables.lock

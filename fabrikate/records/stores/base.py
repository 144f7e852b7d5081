"""The small interface every record store implements, and the rows it keeps.

    class MyStore(Store):
        def add(self, record): ...

``stores/__init__.py`` picks a store by URL; each backend module imports only this one.
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from fabrikate.errors import AmbiguousRecord, RecordsError, UnknownRecord
from fabrikate.records.stores.dora import (
    DORA_FIELDS,
    DoraFacts,
    DoraRow,
    dora_facts,
    dora_row,
    landings,
)

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent, Mark

__all__ = ["BEDROCK_FIELDS", "RecordQuery", "Row", "Store", "driver", "view"]

_POLL_SECONDS = 0.5  # how often a store without notifications looks at its change counter

# The Spektate entity's properties (spec §1.2), all strings.
BEDROCK_FIELDS = (
    "p1",
    "commitId",
    "imageTag",
    "service",
    "sourceRepo",
    "p2",
    "env",
    "hldCommitId",
    "pr",
    "hldRepo",
    "p3",
    "manifestCommitId",
    "manifestRepo",
)


class RecordQuery(NamedTuple):
    """Which records to read: every field optional, all given ones must match (AND)."""

    scope: str | None = None
    environment: str | None = None
    ring: str | None = None
    service: str | None = None  # record["service"], else a component name of the record
    outcome: str | None = None  # succeeded | failed | canceled
    author: str | None = None  # substring of hld.commitAuthor or hld.mergedBy (any case)
    kind: str | None = None  # "pipeline" (a CI run) | "manual" (no CI) | "pr" (a PR build)
    since: str | None = None  # ISO-8601 UTC: startedAt >= since
    until: str | None = None  # startedAt < until
    commit: str | None = None  # prefix of hld.commit, source.commit or manifest.commit
    manifest_commit: str | None = None  # exact full sha (event matching)
    image: str | None = None  # substring of an images[].image
    component: str | None = None  # exact components[].name
    keyword: str | None = None  # substring of the record JSON (any case)
    before: tuple[str, str] | None = None  # keyset: (startedAt, id), strictly after it in order
    limit: int | None = None


@dataclass
class Row:
    """One deployment row (a Spektate entity): its key, string fields and version."""

    scope: str
    row_key: str
    fields: dict[str, str] = field(default_factory=dict)
    version: str = ""  # an ETag or row version: a merge succeeds only if it is unchanged
    created: str = ""
    updated: str = ""


class Store(abc.ABC):
    """Where records and deployment rows live; a context manager that closes the connection."""

    url: str = ""

    @property
    def concurrent(self) -> bool:
        """Whether threads may call the store at once (else they must take turns)."""
        return False

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections."""

    # native records
    @abc.abstractmethod
    def add(self, record: Mapping[str, Any]) -> None:
        """Store one native record."""

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Store many native records. Backends batch this."""
        for record in records:
            self.add(record)

    def records(
        self,
        *,
        scope: str | None = None,
        environment: str | None = None,
        since: str | None = None,
        outcome: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Native records, newest first; ``since`` is an ISO-8601 UTC time."""
        return self.query(
            RecordQuery(
                scope=scope, environment=environment, since=since, outcome=outcome, limit=limit
            )
        )

    @abc.abstractmethod
    def query(self, q: RecordQuery) -> list[dict[str, Any]]:
        """The records ``q`` matches, newest first (startedAt, then id, descending)."""

    def views(self, q: RecordQuery, paths: Sequence[str]) -> list[dict[str, Any]]:
        """``query(q)`` with only the fields ``paths`` name in each record (``view``: ``"a"``
        or ``"a.b"``, each a text, number, boolean or null): far less to decode where a store
        reads them from the stored JSON."""
        return [view(record, paths) for record in self.query(q)]

    def dora_rows(self, q: RecordQuery) -> list[DoraRow]:
        """The records ``q`` matches as the DORA figures read them, newest first, each with
        the ``Landing`` of every stored event about its manifest commit."""
        landed = landings(self.events())
        return [dora_row(found, landed) for found in self.views(q, DORA_FIELDS)]

    def dora_facts(self, q: RecordQuery, since: str) -> DoraFacts:
        """``dora.dora_facts`` of the records ``q`` matches (the history a rollback is looked
        for in included) and their marks: the deployments from ``since`` on."""
        rows = self.dora_rows(q)
        return dora_facts(rows, self.marks([row.id for row in rows]), since)

    @abc.abstractmethod
    def latest(
        self, *, scope: str | None = None, environment: str | None = None, ring: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest succeeded non-PR record per (scope, service, ring, environment), newest
        first, as its glance (``facts.glance``: ``"glance": True``, no objects; ``get``
        gives the whole record); read from what ``add`` maintains, never by a scan."""

    @abc.abstractmethod
    def prune(
        self, *, before: str, keep_latest_per_environment: bool, dry_run: bool = False
    ) -> list[str]:
        """Remove the records started before ``before`` (with their marks) and return their
        ids, newest first. ``keep_latest_per_environment`` keeps the newest record of each
        (scope, environment) and every record ``latest`` returns; ``dry_run`` removes nothing."""

    # cluster events and marks
    @abc.abstractmethod
    def add_event(self, event: ClusterEvent) -> bool:
        """Store one event; False when that event id is already stored."""

    def add_events(self, events: Iterable[ClusterEvent]) -> int:
        """Store many events; how many were new. Backends batch this."""
        return sum(self.add_event(event) for event in events)

    @abc.abstractmethod
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
        """Events, newest first (at, then id); ``revisions``: of any of these revisions (one
        read for a page of records); ``before`` is a time (at < before) or a keyset (at, id)
        strictly after it in that order."""

    def event_count(self, revision: str) -> int:
        """How many stored events are about ``revision``."""
        return len(self.events(revision=revision))

    @abc.abstractmethod
    def latest_events(self, *, cluster: str | None = None) -> list[ClusterEvent]:
        """The newest event per (cluster, source, kind, namespace, name), newest first."""

    @abc.abstractmethod
    def clusters(self) -> dict[str, str]:
        """Each cluster named by an event, with the time of its last event."""

    @abc.abstractmethod
    def add_mark(self, mark: Mark) -> None:
        """Store one mark (its time is now when it has none)."""

    @abc.abstractmethod
    def marks(self, record_ids: Sequence[str] | None = None) -> list[Mark]:
        """The marks of ``record_ids`` (all when None), oldest first."""

    # changes
    @abc.abstractmethod
    def change_count(self) -> int:
        """A counter that grows on every write of a record, an event or a mark, and on prune."""

    def wait_for_change(self, after: int, timeout: float) -> int:
        """The change count once it passes ``after``, or when ``timeout`` seconds are up."""
        deadline = time.monotonic() + timeout
        while (count := self.change_count()) <= after:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(_POLL_SECONDS, left))
        return count

    @abc.abstractmethod
    def get(self, ref: str) -> dict[str, Any]:
        """The record whose id or row key is, or starts with, ``ref``."""

    # deployment rows (the Spektate table)
    @abc.abstractmethod
    def find_rows(self, scope: str, name: str, value: str) -> list[Row]:
        """Rows of ``scope`` whose field ``name`` equals ``value``, newest first."""

    @abc.abstractmethod
    def rows(self, scope: str | None, limit: int | None = None) -> list[Row]:
        """Rows (of every scope when None), newest first."""

    @abc.abstractmethod
    def insert_row(self, row: Row) -> bool:
        """Insert a new row; False if its key is taken."""

    @abc.abstractmethod
    def merge_row(self, row: Row, fields: Mapping[str, str]) -> bool:
        """Merge ``fields`` into ``row`` (others kept); False if it changed since it was read."""

    def lock(self, scope: str) -> contextlib.AbstractContextManager[None]:
        """Serialise the read-match-write step of correlation for ``scope``."""
        return contextlib.nullcontext()

    @staticmethod
    def pick(ref: str, candidates: list[dict[str, Any]]) -> dict[str, Any]:
        """The one record ``ref`` names, or a clear error."""
        if not candidates:
            raise UnknownRecord(f"no record {ref!r}")
        exact = [r for r in candidates if ref in (r["id"], r["rowKey"])]
        if len(exact) == 1 or len(candidates) == 1:
            return (exact or candidates)[0]
        raise AmbiguousRecord(f"record id {ref!r} is ambiguous ({len(candidates)} records match)")


def view(record: Mapping[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """The fields ``paths`` name (``"a"`` or ``"a.b"``), nested as in the record: a missing
    field is None, and so is ``a`` when the record has no object there."""
    found: dict[str, Any] = {}
    for path in paths:
        top, _, key = path.partition(".")
        if not key:
            found[top] = record.get(top)
        elif isinstance(record.get(top), Mapping):
            found.setdefault(top, {})[key] = record[top].get(key)
        else:
            found[top] = None
    return found


@contextlib.contextmanager
def driver(name: str, extra: str) -> Iterator[None]:
    """Turn a missing optional driver into an install hint."""
    try:
        yield
    except ImportError as exc:
        raise RecordsError(
            f"the {name} records store needs {exc.name}: pip install 'fabrikate-gitops[{extra}]'"
        ) from exc

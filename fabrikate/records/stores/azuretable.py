"""Azure Table store (azure-data-tables, extra ``azure``): what an existing Spektate reads.

    # AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=…;AccountKey=…"
    store = AzureTableStore("azuretable://deployments")

Deployment rows go to the named table as Bedrock entities (PartitionKey = scope, RowKey =
deployment id, every Bedrock field an ``Edm.String``), so Spektate shows them. Native records
go to a second table, ``<TABLE>records``: newest-first row keys, the JSON split over string
properties because one property holds at most 64 KiB. Beside them: ``<TABLE>latest`` (the
latest record per scope, service, ring and environment, kept on add), ``<TABLE>events``
(cluster events, keyed by cluster and event id), ``<TABLE>evlast`` (the newest event per
object), ``<TABLE>marks`` and ``<TABLE>meta`` (schema version and change counter). Table
filters select by scope, environment, outcome and time; the other filters run here.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from fabrikate.errors import InputError, RecordsError
from fabrikate.records.mask import mask_text
from fabrikate.records.stores.base import BEDROCK_FIELDS, RecordQuery, Row, Store, driver
from fabrikate.records.stores.facts import (
    GLANCE,
    event_key,
    event_matches,
    glance,
    latest_key,
    latest_of,
    matches,
    order_key,
    prunable,
)
from fabrikate.records.stores.sql import now

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent, Mark

__all__ = ["CONNECTION_VARIABLE", "AzureTableStore"]

CONNECTION_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING"
_CHUNK = 30_000  # characters per property: 64 KiB of UTF-16
_MAX_CHUNKS = 30  # an entity holds at most 1 MiB
_EPOCH_END = 10**13  # milliseconds; row keys count down so the newest record comes first
_SCHEMA = 2
_ATTEMPTS = 20  # optimistic updates of one entity before giving up
_BATCH = 100  # operations in one entity group transaction
_TABLES = ("records", "latest", "events", "evlast", "marks", "meta")


def _table(url: str) -> str:
    parts = urlsplit(url)
    name = unquote(parts.netloc or parts.path.strip("/"))
    if not name.isalnum() or not name[:1].isalpha() or not 3 <= len(name) <= 55:
        raise InputError(
            f"records URL {mask_text(url)!r}: want azuretable://TABLE, TABLE being 3-55 "
            "letters and digits starting with a letter"
        )
    return name


def _newest_first_key(record: Mapping[str, Any]) -> str:
    started = datetime.fromisoformat(record["startedAt"])
    return f"{_EPOCH_END - int(started.timestamp() * 1000):013d}-{record['rowKey']}"


def _split(data: Any, prefix: str, count: str, ident: str) -> dict[str, Any]:
    """``data`` as JSON over string properties ``prefix0``, ``prefix1``… and their ``count``."""
    text = json.dumps(data, sort_keys=True)
    chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)]
    if len(chunks) > _MAX_CHUNKS:
        raise RecordsError(f"record {ident} is too large for Azure Table (1 MiB)")
    return {count: len(chunks), **{f"{prefix}{i}": chunk for i, chunk in enumerate(chunks)}}


def _joined(entity: Mapping[str, Any], prefix: str, count: str) -> dict[str, Any]:
    """What ``_split`` wrote."""
    return json.loads("".join(entity[f"{prefix}{i}"] for i in range(int(entity[count]))))


def _key(*parts: str) -> str:
    """A table key for any text: URL-safe base64, so no character Azure refuses can appear."""
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


def _cluster_key(cluster: str | None) -> str:
    return "n" if cluster is None else "c" + _key(cluster)


def _event_entity(event: ClusterEvent) -> dict[str, Any]:
    data = {k: v for k, v in asdict(event).items() if v is not None}
    return {"PartitionKey": _cluster_key(event.cluster), "RowKey": event.id, **data}


def _event(entity: Mapping[str, Any]) -> ClusterEvent:
    from fabrikate.records.events import ClusterEvent

    return ClusterEvent.from_data(entity)


def _newest_events(events: Iterable[ClusterEvent]) -> list[ClusterEvent]:
    return sorted(events, key=lambda e: (e.at, e.id), reverse=True)


class AzureTableStore(Store):
    """Deployment rows and native records in Azure Table storage (or Azurite)."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        with driver("Azure Table", "azure"):
            from azure.core import exceptions
            from azure.data.tables import TableServiceClient
        self._errors = exceptions
        self.url = url
        name = _table(url)
        connection = os.environ.get(CONNECTION_VARIABLE)
        if not connection:
            raise RecordsError(f"the Azure Table records store needs {CONNECTION_VARIABLE}")
        self.read_only = not create
        try:
            service = TableServiceClient.from_connection_string(connection, retry_total=2)
            table = service.create_table_if_not_exists if create else service.get_table_client
            self.deployments = table(name)
            self.native, self._latest, self._events, self._evlast, self._marks, self._meta = (
                table(f"{name}{suffix}") for suffix in _TABLES
            )
        except (exceptions.AzureError, ValueError) as exc:
            raise self._error(exc) from exc
        self._service = service
        if self.read_only:
            self._require_table()
        schema = self._entity(self._meta, "meta", "schema")
        self.version = int(schema["value"]) if schema else 1
        if create and self.version < _SCHEMA:
            self._migrate()

    def _require_table(self) -> None:
        """A read-only open names a store that exists: its records table must be there."""
        try:
            next(iter(self.native.list_entities(results_per_page=1, select=["PartitionKey"])), None)
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc

    def _migrate(self) -> None:
        """A store made before the latest table gets its latest rows from the records."""
        for entity in self._query(self.native, None, {}):
            self._keep_latest(self._record(entity), entity["RowKey"])
        self._upsert(self._meta, {"PartitionKey": "meta", "RowKey": "schema", "value": _SCHEMA})
        self.version = _SCHEMA

    def close(self) -> None:
        """Close the HTTP sessions."""
        self._service.close()

    def _error(self, exc: Exception) -> RecordsError:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RecordsError(f"Azure Table {mask_text(self.url)}: {mask_text(text)}")

    def _query(
        self,
        table: Any,
        query: str | None,
        parameters: Mapping[str, Any],
        *,
        select: list[str] | None = None,
    ) -> list[Any]:
        """Every entity matching ``query`` (none when a read-only store lacks the table): the
        SDK follows continuation tokens past 1,000."""
        try:
            if query is None:
                return list(table.list_entities(select=select))
            return list(table.query_entities(query, parameters=dict(parameters), select=select))
        except self._errors.ResourceNotFoundError as exc:
            if self.read_only and table is not self.native:
                return []  # a store from before events, marks and latest rows
            raise self._error(exc) from exc
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc

    def _entity(self, table: Any, partition: str, row: str) -> Any:
        """One entity, or None when it (or, read-only, its table) does not exist."""
        try:
            return table.get_entity(partition, row)
        except self._errors.ResourceNotFoundError:
            return None
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc

    def _upsert(self, table: Any, entity: Mapping[str, Any]) -> None:
        try:
            table.upsert_entity(dict(entity))
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc

    def _writable(self) -> None:
        if self.read_only:
            raise RecordsError(f"records store {mask_text(self.url)} is open read-only")

    def _update_if(
        self, table: Any, partition: str, row: str, change: Callable[[Any], dict[str, Any] | None]
    ) -> None:
        """Write ``change(current entity or None)`` unless it is None, retrying when another
        writer changed the entity in between (ETags)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        for _ in range(_ATTEMPTS):
            current = self._entity(table, partition, row)
            wanted = change(current)
            if wanted is None:
                return
            entity = {"PartitionKey": partition, "RowKey": row, **wanted}
            try:
                if current is None:
                    table.create_entity(entity)
                else:
                    table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=current.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                return
            except (self._errors.ResourceExistsError, self._errors.ResourceModifiedError):
                continue
            except self._errors.AzureError as exc:
                if getattr(exc, "status_code", None) in (409, 412):
                    continue
                raise self._error(exc) from exc
        raise RecordsError(f"Azure Table {mask_text(self.url)}: too many writers at once")

    def _changed(self) -> None:
        """Count one write."""

        def bump(current: Any) -> dict[str, Any]:
            return {"value": str(int(current["value"]) + 1 if current else 1)}

        self._update_if(self._meta, "meta", "changes", bump)

    def change_count(self) -> int:
        """The change counter."""
        entity = self._entity(self._meta, "meta", "changes")
        return int(entity["value"]) if entity else 0

    # native records
    def add(self, record: Mapping[str, Any]) -> None:
        """Store one native record, split over string properties, and keep the latest row."""
        self._writable()
        entity = {
            "PartitionKey": record["scope"],
            "RowKey": _newest_first_key(record),
            "id": record["id"],
            "rowKey": record["rowKey"],
            "environment": record["environment"],
            "startedAt": record["startedAt"],
            "outcome": record["outcome"],
            **_split(record, "record", "chunks", record["id"]),
        }
        try:
            self.native.create_entity(entity)
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc
        self._keep_latest(record, entity["RowKey"])
        self._changed()

    def _keep_latest(self, record: Mapping[str, Any], native_key: str) -> None:
        """Point the latest row of ``record``'s key at it, with its glance, when it is newer."""
        key = latest_key(record)
        if key is None:
            return
        scope, service, ring, environment = key
        wanted = {
            "service": service,
            "ring": ring,
            "environment": environment,
            "recordId": record["id"],
            "startedAt": record["startedAt"],
            "nativeKey": native_key,
            "glanceFormat": GLANCE,
            **_split(glance(record), "glance", "glanceChunks", record["id"]),
        }

        def newer(current: Any) -> dict[str, Any] | None:
            if current and (current["startedAt"], current["recordId"]) >= order_key(record):
                return None
            return wanted

        self._update_if(self._latest, scope, _key(service, ring, environment), newer)

    @staticmethod
    def _record(entity: Mapping[str, Any]) -> dict[str, Any]:
        return _joined(entity, "record", "chunks")

    def query(self, q: RecordQuery) -> list[dict[str, Any]]:
        """The records ``q`` matches, newest first: the table filters by scope, environment,
        outcome and time, the rest is filtered here."""
        clauses, parameters = [], {}
        for name, value in (
            ("PartitionKey", q.scope),
            ("environment", q.environment),
            ("outcome", q.outcome),
        ):
            if value is not None:
                clauses.append(f"{name} eq @{name}")
                parameters[name] = value
        for name, operator, value in (
            ("since", "ge", q.since),
            ("until", "lt", q.until),
            ("before", "le", q.before and q.before[0]),
        ):
            if value is not None:
                clauses.append(f"startedAt {operator} @{name}")
                parameters[name] = value
        entities = self._query(self.native, " and ".join(clauses) or None, parameters)
        found = [r for r in map(self._record, entities) if matches(r, q)]
        found.sort(key=order_key, reverse=True)
        return found[: q.limit] if q.limit is not None else found

    def latest(
        self, *, scope: str | None = None, environment: str | None = None, ring: str | None = None
    ) -> list[dict[str, Any]]:
        """The glance (``facts.glance``) of the newest succeeded non-PR record per (scope,
        service, ring, environment), newest first, from the latest table (found by a scan in
        a read-only store made before it)."""
        if self.version < _SCHEMA:
            found = self.query(RecordQuery(scope=scope, environment=environment))
            return [glance(record) for record in latest_of(found, ring=ring)]
        clauses, parameters = [], {}
        for name, value in (("PartitionKey", scope), ("environment", environment), ("ring", ring)):
            if value is not None:
                clauses.append(f"{name} eq @{name}")
                parameters[name] = value
        rows = self._query(self._latest, " and ".join(clauses) or None, parameters)
        rows.sort(key=lambda e: (e["startedAt"], e["recordId"]), reverse=True)
        return [g for g in map(self._glance, rows) if g is not None]

    def _glance(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """The glance a latest row keeps, else (an older row) its record's."""
        if row.get("glanceFormat") == GLANCE:
            return _joined(row, "glance", "glanceChunks")
        entity = self._entity(self.native, row["PartitionKey"], row["nativeKey"])
        return glance(self._record(entity)) if entity is not None else None

    def prune(
        self, *, before: str, keep_latest_per_environment: bool, dry_run: bool = False
    ) -> list[str]:
        """Remove the records started before ``before``; their ids, newest first."""
        if not dry_run:
            self._writable()
        heads = ["PartitionKey", "RowKey", "id", "environment", "startedAt"]
        entities = {e["id"]: e for e in self._query(self.native, None, {}, select=heads)}
        latest = self._query(self._latest, None, {}, select=["PartitionKey", "RowKey", "recordId"])
        ids = prunable(
            [dict(e, scope=e["PartitionKey"]) for e in entities.values()],
            before=before,
            keep_latest=keep_latest_per_environment,
            latest_ids=[e["recordId"] for e in latest],
        )
        if dry_run or not ids:
            return ids
        gone = set(ids)
        for row in latest:
            if row["recordId"] in gone:  # older than any other of its key: none is left
                self._delete(self._latest, row)
        for ident in ids:
            for mark in self._query(self._marks, "PartitionKey eq @id", {"id": ident}):
                self._delete(self._marks, mark)
            self._delete(self.native, entities[ident])
        self._changed()
        return ids

    def _delete(self, table: Any, entity: Mapping[str, Any]) -> None:
        try:
            table.delete_entity(entity["PartitionKey"], entity["RowKey"])
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc

    # events and marks
    def add_event(self, event: ClusterEvent) -> bool:
        """Store one event; False when its id is already stored."""
        return self.add_events([event]) == 1

    def add_events(self, events: Iterable[ClusterEvent]) -> int:
        """Store many events (entity group transactions per cluster); how many were new."""
        self._writable()
        unique = list({event.id: event for event in events}.values())
        new = []
        for partition in {_cluster_key(e.cluster) for e in unique}:
            group = [e for e in unique if _cluster_key(e.cluster) == partition]
            for start in range(0, len(group), _BATCH):
                new += self._insert_events(group[start : start + _BATCH])
        newest: dict[tuple[str, ...], ClusterEvent] = {}
        for event in new:
            key = event_key(event)
            if key not in newest or (event.at, event.id) > (newest[key].at, newest[key].id):
                newest[key] = event
        for event in newest.values():
            self._keep_latest_event(event)
        if new:
            self._changed()
        return len(new)

    def _insert_events(self, events: Sequence[ClusterEvent]) -> list[ClusterEvent]:
        """Insert one partition's events; those that were new."""
        from azure.data.tables import TableTransactionError

        try:
            self._events.submit_transaction([("create", _event_entity(e)) for e in events])
            return list(events)
        except TableTransactionError:
            pass  # one of them is already stored: insert one by one
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc
        new = []
        for event in events:
            try:
                self._events.create_entity(_event_entity(event))
                new.append(event)
            except self._errors.ResourceExistsError:
                continue
            except self._errors.AzureError as exc:
                raise self._error(exc) from exc
        return new

    def _keep_latest_event(self, event: ClusterEvent) -> None:
        partition = _cluster_key(event.cluster)
        wanted = {k: v for k, v in _event_entity(event).items() if k not in ("PartitionKey",)}
        wanted["RowKey"] = _key(*event_key(event)[1:])

        def newer(current: Any) -> dict[str, Any] | None:
            if current and (current["at"], current["id"]) >= (event.at, event.id):
                return None
            return {k: v for k, v in wanted.items() if k != "RowKey"}

        self._update_if(self._evlast, partition, wanted["RowKey"], newer)

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
        """Events, newest first: cluster, revision and time filter in the table (one query
        per revision of ``revisions``)."""
        if revisions is not None:
            found = [
                event
                for one in dict.fromkeys(r.lower() for r in revisions)
                if revision is None or revision.lower() == one
                for event in self.events(cluster=cluster, revision=one, since=since, before=before)
            ]
            return _newest_events(found)[:limit]
        clauses, parameters = [], {}
        if cluster is not None:
            clauses.append("PartitionKey eq @cluster")
            parameters["cluster"] = _cluster_key(cluster)
        if revision is not None:
            clauses.append("revision eq @revision")
            parameters["revision"] = revision.lower()
        if since is not None:
            clauses.append("at ge @since")
            parameters["since"] = since
        if before is not None:
            clauses.append("at le @before")
            parameters["before"] = before[0] if isinstance(before, tuple) else before
        found = [
            e
            for e in map(
                _event, self._query(self._events, " and ".join(clauses) or None, parameters)
            )
            if event_matches(e, cluster=cluster, revision=revision, since=since, before=before)
        ]
        return _newest_events(found)[:limit]

    def latest_events(self, *, cluster: str | None = None) -> list[ClusterEvent]:
        """The newest event per (cluster, source, kind, namespace, name), newest first."""
        if cluster is None:
            rows = self._query(self._evlast, None, {})
        else:
            rows = self._query(self._evlast, "PartitionKey eq @p", {"p": _cluster_key(cluster)})
        return _newest_events(map(_event, rows))

    def clusters(self) -> dict[str, str]:
        """Each cluster named by an event, with the time of its last event."""
        last: dict[str, str] = {}
        for event in self.latest_events():
            if event.cluster is not None:
                last[event.cluster] = max(last.get(event.cluster, ""), event.at)
        return dict(sorted(last.items()))

    def add_mark(self, mark: Mark) -> None:
        """Store one mark (its time is now when it has none)."""
        self._writable()
        mark = replace(mark, at=mark.at or now())
        entity = {k: v for k, v in asdict(mark).items() if v is not None}
        entity.update(PartitionKey=mark.record_id, RowKey=f"{mark.at}-{uuid.uuid4().hex}")
        try:
            self._marks.create_entity(entity)
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc
        self._changed()

    def marks(self, record_ids: Sequence[str] | None = None) -> list[Mark]:
        """The marks of ``record_ids`` (all when None), oldest first."""
        from fabrikate.records.events import Mark

        if record_ids is None:
            rows = self._query(self._marks, None, {})
        else:
            rows = []
            for ident in dict.fromkeys(record_ids):
                rows += self._query(self._marks, "PartitionKey eq @id", {"id": ident})
        found = [
            Mark(e["record_id"], e["kind"], e.get("note", ""), e.get("by"), e["at"]) for e in rows
        ]
        return sorted(found, key=lambda m: m.at or "")

    def get(self, ref: str) -> dict[str, Any]:
        """The record whose id or row key is, or starts with, ``ref``."""
        ref = ref.strip().lower()
        entities = self._query(
            self.native,
            "( id ge @low and id lt @high ) or rowKey eq @ref",  # the SDK wants @words spaced
            {"low": ref, "high": ref + "~", "ref": ref},
        )
        return self.pick(ref, [self._record(e) for e in entities[:5]])

    # deployment rows
    def _row(self, entity: Any) -> Row:
        fields = {k: v for k, v in entity.items() if k not in ("PartitionKey", "RowKey")}
        stamp = entity.metadata.get("timestamp")
        updated = stamp.isoformat() if stamp else ""
        created = str(fields.get("createdAt") or updated)
        return Row(
            entity["PartitionKey"],
            entity["RowKey"],
            {k: str(v) for k, v in fields.items()},
            entity.metadata.get("etag") or "",
            created,
            updated,
        )

    def _rows(self, entities: Iterable[Any]) -> list[Row]:
        rows = [self._row(e) for e in entities]
        rows.sort(key=lambda r: (r.created, r.row_key), reverse=True)
        return rows

    def find_rows(self, scope: str, name: str, value: str) -> list[Row]:
        """Rows of ``scope`` whose field ``name`` equals ``value``, newest first."""
        if not (name == "RowKey" or name in BEDROCK_FIELDS):
            raise InputError(f"unknown deployment field {name!r}")
        query = f"PartitionKey eq @scope and {name} eq @value"
        return self._rows(self._query(self.deployments, query, {"scope": scope, "value": value}))

    def rows(self, scope: str | None, limit: int | None = None) -> list[Row]:
        """Rows, newest first."""
        if scope is None:
            entities = self._query(self.deployments, None, {})
        else:
            entities = self._query(self.deployments, "PartitionKey eq @scope", {"scope": scope})
        return self._rows(entities)[:limit]

    def insert_row(self, row: Row) -> bool:
        """Insert a new entity; False if its RowKey is taken (409)."""
        entity = {"PartitionKey": row.scope, "RowKey": row.row_key, **row.fields}
        entity.setdefault("createdAt", now())
        try:
            self.deployments.create_entity(entity)
        except self._errors.ResourceExistsError:
            return False
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc
        return True

    def merge_row(self, row: Row, fields: Mapping[str, str]) -> bool:
        """MERGE ``fields`` (others kept) if the entity's ETag is unchanged, else False."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        entity = {"PartitionKey": row.scope, "RowKey": row.row_key, **fields}
        try:
            self.deployments.update_entity(
                entity,
                mode=UpdateMode.MERGE,
                etag=row.version,
                match_condition=MatchConditions.IfNotModified,
            )
        except (self._errors.ResourceModifiedError, self._errors.ResourceNotFoundError):
            return False
        except self._errors.AzureError as exc:
            if getattr(exc, "status_code", None) == 412:
                return False
            raise self._error(exc) from exc
        return True

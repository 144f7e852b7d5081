"""Azure Table store (azure-data-tables, extra ``azure``): what an existing Spektate reads.

    # AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=…;AccountKey=…"
    store = AzureTableStore("azuretable://deployments")

Deployment rows go to the named table as Bedrock entities (PartitionKey = scope, RowKey =
deployment id, every Bedrock field an ``Edm.String``), so Spektate shows them. Native records
go to a second table, ``<TABLE>records``: newest-first row keys, the JSON split over string
properties because one property holds at most 64 KiB.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from fabrikate.errors import InputError, RecordsError
from fabrikate.records.mask import mask_text
from fabrikate.records.stores.base import BEDROCK_FIELDS, Row, Store, driver
from fabrikate.records.stores.sql import now

__all__ = ["CONNECTION_VARIABLE", "AzureTableStore"]

CONNECTION_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING"
_CHUNK = 30_000  # characters per property: 64 KiB of UTF-16
_MAX_CHUNKS = 30  # an entity holds at most 1 MiB
_EPOCH_END = 10**13  # milliseconds; row keys count down so the newest record comes first


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
        try:
            service = TableServiceClient.from_connection_string(connection, retry_total=2)
            table = service.create_table_if_not_exists if create else service.get_table_client
            self.deployments = table(name)
            self.native = table(f"{name}records")
        except (exceptions.AzureError, ValueError) as exc:
            raise self._error(exc) from exc
        self._service = service

    def close(self) -> None:
        """Close the HTTP sessions."""
        self._service.close()

    def _error(self, exc: Exception) -> RecordsError:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RecordsError(f"Azure Table {mask_text(self.url)}: {mask_text(text)}")

    def _query(self, table: Any, query: str | None, parameters: Mapping[str, Any]) -> list[Any]:
        """Every entity matching ``query``: the SDK follows continuation tokens past 1,000."""
        try:
            if query is None:
                return list(table.list_entities())
            return list(table.query_entities(query, parameters=dict(parameters)))
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc

    # native records
    def add(self, record: Mapping[str, Any]) -> None:
        """Store one native record, split over string properties."""
        text = json.dumps(record, sort_keys=True)
        chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)]
        if len(chunks) > _MAX_CHUNKS:
            raise RecordsError(f"record {record['id']} is too large for Azure Table (1 MiB)")
        entity = {
            "PartitionKey": record["scope"],
            "RowKey": _newest_first_key(record),
            "id": record["id"],
            "rowKey": record["rowKey"],
            "environment": record["environment"],
            "startedAt": record["startedAt"],
            "outcome": record["outcome"],
            "chunks": len(chunks),
            **{f"record{i}": chunk for i, chunk in enumerate(chunks)},
        }
        try:
            self.native.create_entity(entity)
        except self._errors.AzureError as exc:
            raise self._error(exc) from exc

    @staticmethod
    def _record(entity: Mapping[str, Any]) -> dict[str, Any]:
        return json.loads("".join(entity[f"record{i}"] for i in range(int(entity["chunks"]))))

    def records(
        self,
        *,
        scope: str | None = None,
        environment: str | None = None,
        since: str | None = None,
        outcome: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Native records, newest first."""
        clauses, parameters = [], {}
        for name, value in (
            ("PartitionKey", scope),
            ("environment", environment),
            ("outcome", outcome),
        ):
            if value is not None:
                clauses.append(f"{name} eq @{name}")
                parameters[name] = value
        if since is not None:
            clauses.append("startedAt ge @since")
            parameters["since"] = since
        entities = self._query(self.native, " and ".join(clauses) or None, parameters)
        entities.sort(key=lambda e: e["startedAt"], reverse=True)
        return [self._record(e) for e in entities[:limit]]

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

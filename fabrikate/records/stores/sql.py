"""What the SQLite and PostgreSQL stores share: the tables and the queries.

Records are JSON documents with a few indexed columns; deployment rows keep the Spektate
fields as one JSON object of strings, a row version for optimistic merges, and timestamps.
SQL here uses ``?`` placeholders; a backend with another style translates them.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fabrikate.records.stores.base import Row, Store

__all__ = ["SqlStore", "now"]


def now() -> str:
    """The current UTC time in ISO-8601, the one format every stored time uses."""
    return datetime.now(UTC).isoformat()


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqlStore(Store):
    """A store on a DB-API connection, with the statements both engines understand."""

    json_type = "TEXT"

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (empty for writes)."""

    @abc.abstractmethod
    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write and return how many rows it touched."""

    @abc.abstractmethod
    def field(self, name: str) -> tuple[str, Any]:
        """An SQL expression reading field ``name`` of ``fields``, and its parameter."""

    def to_json(self, value: Any) -> Any:
        """A JSON value as the driver wants it bound."""
        return json.dumps(value, sort_keys=True)

    @staticmethod
    def from_json(value: Any) -> Any:
        """A JSON column as Python data."""
        return json.loads(value) if isinstance(value, str | bytes) else value

    def schema_statements(self) -> list[str]:
        """Create the tables and indexes if missing."""
        return [
            "CREATE TABLE IF NOT EXISTS fab_record (id TEXT PRIMARY KEY, row_key TEXT NOT NULL, "
            "scope TEXT NOT NULL, environment TEXT NOT NULL, started_at TEXT NOT NULL, "
            f"outcome TEXT NOT NULL, record {self.json_type} NOT NULL)",
            "CREATE INDEX IF NOT EXISTS fab_record_env "
            "ON fab_record (scope, environment, started_at)",
            "CREATE INDEX IF NOT EXISTS fab_record_started ON fab_record (started_at)",
            "CREATE INDEX IF NOT EXISTS fab_record_row_key ON fab_record (row_key)",
            "CREATE TABLE IF NOT EXISTS fab_deployment (scope TEXT NOT NULL, "
            f"row_key TEXT NOT NULL, fields {self.json_type} NOT NULL, version INTEGER NOT NULL, "
            "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (scope, row_key))",
            "CREATE INDEX IF NOT EXISTS fab_deployment_created "
            "ON fab_deployment (scope, created_at)",
        ]

    # native records
    def add(self, record: Mapping[str, Any]) -> None:
        """Store one native record."""
        self.execute_count(
            "INSERT INTO fab_record (id, row_key, scope, environment, started_at, outcome, record)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record["id"],
                record["rowKey"],
                record["scope"],
                record["environment"],
                record["startedAt"],
                record["outcome"],
                self.to_json(record),
            ),
        )

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
        where, params = [], []
        for column, value in (("scope", scope), ("environment", environment)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if outcome is not None:
            where.append("outcome = ?")
            params.append(outcome)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        sql = "SELECT record FROM fab_record"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self.from_json(row[0]) for row in self.execute(sql, params)]

    def get(self, ref: str) -> dict[str, Any]:
        """The record whose id or row key is, or starts with, ``ref``."""
        ref = ref.strip().lower()
        rows = self.execute(
            "SELECT record FROM fab_record WHERE id = ? OR row_key = ? "
            "OR id LIKE ? ESCAPE '\\' ORDER BY started_at DESC LIMIT 5",
            (ref, ref, _like(ref)),
        )
        return self.pick(ref, [self.from_json(row[0]) for row in rows])

    # deployment rows
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return [
            Row(scope, key, self.from_json(fields), str(version), created, updated)
            for scope, key, fields, version, created, updated in self.execute(sql, params)
        ]

    _SELECT = "SELECT scope, row_key, fields, version, created_at, updated_at FROM fab_deployment"

    def find_rows(self, scope: str, name: str, value: str) -> list[Row]:
        """Rows of ``scope`` whose field ``name`` equals ``value``, newest first."""
        if name == "RowKey":
            expr, params = "row_key", [scope, value]
        else:
            expr, param = self.field(name)
            params = [scope, param, value]
        return self._rows(
            f"{self._SELECT} WHERE scope = ? AND {expr} = ? ORDER BY created_at DESC, row_key",
            params,
        )

    def rows(self, scope: str | None, limit: int | None = None) -> list[Row]:
        """Rows, newest first."""
        sql, params = self._SELECT, []
        if scope is not None:
            sql += " WHERE scope = ?"
            params.append(scope)
        sql += " ORDER BY created_at DESC, row_key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._rows(sql, params)

    def insert_row(self, row: Row) -> bool:
        """Insert a new row; False if its key is taken."""
        stamp = now()
        return (
            self.execute_count(
                "INSERT INTO fab_deployment (scope, row_key, fields, version, created_at, "
                "updated_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING",
                (row.scope, row.row_key, self.to_json(row.fields), stamp, stamp),
            )
            == 1
        )

    def merge_row(self, row: Row, fields: Mapping[str, str]) -> bool:
        """Merge ``fields`` into ``row``; False if it changed since it was read."""
        merged = {**row.fields, **fields}
        return (
            self.execute_count(
                "UPDATE fab_deployment SET fields = ?, version = version + 1, updated_at = ? "
                "WHERE scope = ? AND row_key = ? AND version = ?",
                (self.to_json(merged), now(), row.scope, row.row_key, int(row.version)),
            )
            == 1
        )

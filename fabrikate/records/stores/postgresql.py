"""A shared store on PostgreSQL (psycopg 3, extra ``postgresql``).

    store = PostgresStore("postgresql://fab@db.example/records")

Records and deployment fields are JSONB; the correlation step holds a transaction-scoped
advisory lock per scope, so parallel pipelines never merge into the same row blindly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from fabrikate.errors import RecordsError
from fabrikate.records.mask import mask_text
from fabrikate.records.stores.base import driver
from fabrikate.records.stores.sql import SqlStore

__all__ = ["PostgresStore"]

_SCHEMA_LOCK = 0x6661625F7265  # any constant: serialises CREATE TABLE IF NOT EXISTS races


class PostgresStore(SqlStore):
    """Records in a PostgreSQL database."""

    json_type = "JSONB"

    def __init__(self, url: str, *, create: bool = True) -> None:
        with driver("PostgreSQL", "postgresql"):
            import psycopg
        self._psycopg = psycopg
        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=15)
            if not create:  # read-only: every statement of this session; no table is made
                self.conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                return
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in self.schema_statements():
                    self.conn.execute(statement)
        except psycopg.Error as exc:
            raise RecordsError(f"records database {mask_text(url)}: {_message(exc)}") from exc

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def lock(self, scope: str) -> contextlib.AbstractContextManager[None]:
        """A transaction holding the scope's advisory lock."""
        return self._locked(scope)

    @contextlib.contextmanager
    def _locked(self, scope: str) -> Iterator[None]:
        with self.conn.transaction():
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (scope,))
            yield

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        try:
            return self.conn.execute(sql.replace("?", "%s"), tuple(params))
        except self._psycopg.Error as exc:
            raise RecordsError(f"records database {mask_text(self.url)}: {_message(exc)}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        cursor = self._run(sql, params)
        return cursor.fetchall() if cursor.description else []

    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write and return how many rows it touched."""
        return int(self._run(sql, params).rowcount)

    def to_json(self, value: Any) -> Any:
        """JSONB parameter."""
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    def field(self, name: str) -> tuple[str, Any]:
        """``fields ->> name``."""
        return "fields ->> ?", name


def _message(exc: Exception) -> str:
    return mask_text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)

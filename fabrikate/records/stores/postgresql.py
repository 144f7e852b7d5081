"""A shared store on PostgreSQL (psycopg 3, extra ``postgresql``).

    store = PostgresStore("postgresql://fab@db.example/records")
    shared = PostgresStore(url, create=False, connections=4)   # threads query at once

Records and deployment fields are JSONB; the correlation step holds a transaction-scoped
advisory lock per scope, so parallel pipelines never merge into the same row blindly. With
``connections`` above one, statements run on a pool (psycopg_pool) of that many connections,
so threads sharing the store do not wait for each other; a transaction keeps its thread on one
connection.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fabrikate.errors import RecordsError
from fabrikate.records.mask import mask_text
from fabrikate.records.stores.base import driver
from fabrikate.records.stores.sql import SqlStore

__all__ = ["PostgresStore"]

_SCHEMA_LOCK = 0x6661625F7265  # any constant: serialises CREATE TABLE IF NOT EXISTS races
_CHANNEL = "fab_change"  # NOTIFY channel of every write
_READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"


class PostgresStore(SqlStore):
    """Records in a PostgreSQL database."""

    json_type = "JSONB"
    text_type = 'TEXT COLLATE "C"'
    record_text = "record::text"

    def __init__(self, url: str, *, create: bool = True, connections: int = 1) -> None:
        with driver("PostgreSQL", "postgresql"):
            import psycopg
        self._psycopg = psycopg
        self.url = url
        self.conn: Any = self._connect()  # a failure to connect is told at once, by its cause
        self._pool: Any = None
        self._bound = threading.local()  # .conn: the connection of this thread's transaction
        self._listener: Any = None
        self._listen_lock = threading.Lock()
        self.read_only = not create
        if self.read_only:  # every statement of the session; no table is made
            self.execute(_READ_ONLY)
            self.check_version()
        else:
            self.check_version()
            if not self.current:
                with self.conn.transaction():
                    self.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
                    self._migrate()
        if connections > 1:
            self._pool = self._open_pool(connections)

    @property
    def concurrent(self) -> bool:
        """Whether threads may call the store at once (with a pool of connections)."""
        return self._pool is not None

    def _session(self, conn: Any) -> None:
        """Set up a new connection: read-only for a read-only store."""
        if self.read_only:
            conn.execute(_READ_ONLY)

    def _open_pool(self, size: int) -> Any:
        """A pool of up to ``size`` connections set up as the first, which it replaces."""
        with driver("PostgreSQL", "postgresql"):
            from psycopg_pool import ConnectionPool
        pool = ConnectionPool(
            self.url,
            min_size=1,
            max_size=size,
            kwargs={"autocommit": True, "connect_timeout": 15},
            configure=self._session,
            open=False,
            name="fab-records",
        )
        try:
            pool.open(wait=True, timeout=15)
        except self._psycopg.Error as exc:
            pool.close()
            raise self._error(exc) from exc
        self.conn.close()
        self.conn = None
        return pool

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """The connection of one statement: the open transaction's of this thread, else one
        from the pool (without a pool: the one connection)."""
        bound = getattr(self._bound, "conn", None)
        if bound is not None or self._pool is None:
            yield bound or self.conn
            return
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:  # the pool's timeout, or a connection it lost
            raise self._error(exc) from exc

    def _migrate(self) -> None:
        """``migrate``; a version-1 table also gets byte-order ids and times (``text_type``),
        so that ordering and keyset pages agree with the other stores."""
        old = self.stored_version()[0] == 1
        self.migrate()
        if old:
            for column in ("id", "scope", "environment", "started_at"):
                self.execute(f"ALTER TABLE fab_record ALTER COLUMN {column} TYPE {self.text_type}")

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(self.url, autocommit=True, connect_timeout=15)
        except self._psycopg.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: Exception) -> RecordsError:
        return RecordsError(f"records database {mask_text(self.url)}: {_message(exc)}")

    def close(self) -> None:
        """Close the connections."""
        if self._listener is not None:
            self._listener.close()
        if self._pool is not None:
            self._pool.close()
        if self.conn is not None:
            self.conn.close()

    @contextlib.contextmanager
    def begin(self) -> Iterator[None]:
        """A transaction, on one connection held by this thread until it ends."""
        try:
            with self._connection() as conn, conn.transaction():
                self._bound.conn = conn
                try:
                    yield
                finally:
                    self._bound.conn = None
        except self._psycopg.Error as exc:
            raise self._error(exc) from exc

    def columns(self, table: str) -> set[str]:
        """The column names of ``table`` in the current schema (empty when it does not exist)."""
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {row[0] for row in rows}

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one write per row of parameters (pipelined); how many rows they touched."""
        rows = [tuple(row) for row in rows]
        if not rows:
            return 0
        try:
            with self._connection() as conn, conn.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)
                return int(cursor.rowcount)
        except self._psycopg.Error as exc:
            raise self._error(exc) from exc

    def count_change(self) -> None:
        """Count the writes and tell the listeners (NOTIFY is sent when they commit)."""
        super().count_change()
        self.execute("SELECT pg_notify(?, '')", (_CHANNEL,))

    def wait_for_change(self, after: int, timeout: float) -> int:
        """The change count once it passes ``after`` (woken by NOTIFY), or at ``timeout``.
        Threads sharing the store take turns on the one listening connection."""
        deadline = time.monotonic() + timeout
        while (count := self.change_count()) <= after:
            left = deadline - time.monotonic()
            if left <= 0 or not self._listen_lock.acquire(timeout=left):
                break
            try:  # another thread may have heard the change while this one waited its turn
                if self.change_count() <= after:
                    self._wait_for_notify(deadline - time.monotonic())
            finally:
                self._listen_lock.release()
        return count

    def _wait_for_notify(self, timeout: float) -> None:
        """Until one notification arrives (one that came before this call counts: psycopg
        keeps it for the next ``notifies``), or ``timeout`` seconds."""
        if self._listener is None:  # a write just before LISTEN sent nothing we can hear:
            self._listening()  # the caller counts again first
            return
        try:
            for _ in self._listener.notifies(timeout=max(timeout, 0), stop_after=1):
                pass
        except self._psycopg.Error as exc:
            raise self._error(exc) from exc

    def _listening(self) -> Any:
        """A second connection that LISTENs (the first stays free for queries)."""
        if self._listener is None:
            self._listener = self._connect()
            try:
                self._listener.execute(f"LISTEN {_CHANNEL}")
            except self._psycopg.Error as exc:
                raise self._error(exc) from exc
        return self._listener

    def lock(self, scope: str) -> contextlib.AbstractContextManager[None]:
        """A transaction holding the scope's advisory lock."""
        return self._locked(scope)

    @contextlib.contextmanager
    def _locked(self, scope: str) -> Iterator[None]:
        with self.transaction():
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (scope,))
            yield

    def _run(self, sql: str, params: Sequence[Any], rows: bool) -> Any:
        """The rows of one statement (``rows``), else how many rows it touched."""
        try:
            with self._connection() as conn:
                cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
                if not rows:
                    return int(cursor.rowcount)
                return cursor.fetchall() if cursor.description else []
        except self._psycopg.Error as exc:
            raise self._error(exc) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        found: list[tuple[Any, ...]] = self._run(sql, params, rows=True)
        return found

    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write and return how many rows it touched."""
        return int(self._run(sql, params, rows=False))

    def to_json(self, value: Any) -> Any:
        """JSONB parameter."""
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    @staticmethod
    def contains(expression: str) -> str:
        """``strpos``: true when ``expression`` holds the text of the next parameter."""
        return f"strpos({expression}, ?) > 0"

    def view_sql(self, select: str, sql: str) -> str:
        """Each record read once, after the sort (``OFFSET 0`` keeps a subquery apart): each
        operator on a stored (TOASTed) value would fetch and decompress it again, and sorting
        the read records would spill to disk."""
        inner = sql.replace("SELECT record", "SELECT record, started_at, id", 1)
        read = f"SELECT record || '{{}}'::jsonb AS record, started_at, id FROM ({inner}) AS found"
        return f"SELECT {select} FROM ({read} OFFSET 0) AS found ORDER BY started_at DESC, id DESC"

    def json_values(self, paths: Sequence[Sequence[str]]) -> str:
        """``jsonb_build_array`` of ``#>`` paths, as text."""
        picked = ", ".join("record #> '{" + ",".join(path) + "}'" for path in paths)
        return f"jsonb_build_array({picked})::text"

    def json_kind(self, name: str) -> str:
        """``jsonb_typeof`` of one field."""
        return f"jsonb_typeof(record -> '{name}')"

    def field(self, name: str) -> tuple[str, Any]:
        """``fields ->> name``."""
        return "fields ->> ?", name


def _message(exc: Exception) -> str:
    return mask_text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)

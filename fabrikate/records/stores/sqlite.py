"""The embedded default store: one SQLite file in WAL mode, safe for parallel writers.

    store = SqliteStore("sqlite:////home/me/.local/share/fabrikate/records.db")

Every writer waits for the lock (busy timeout) and retries when SQLite still says "locked",
so parallel ``fab generate`` processes lose no record.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from fabrikate.errors import InputError, RecordsError
from fabrikate.records.stores.sql import SqlStore

__all__ = ["SqliteStore"]

T = TypeVar("T")
_BUSY_SECONDS = 30.0
_ATTEMPTS = 8


def _path(url: str) -> Path:
    """The file of a SQLAlchemy-style URL: ``sqlite:///relative.db``, ``sqlite:////abs.db``."""
    parts = urlsplit(url)
    path = unquote(parts.path).removeprefix("/")
    if parts.netloc or not path:
        raise InputError(
            f"records URL {url!r} must be sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return Path(path)


class SqliteStore(SqlStore):
    """Records in one SQLite file."""

    def __init__(self, url: str, *, create: bool = True, make_folder: bool = False) -> None:
        """Open the file of ``url``. Without ``create`` (read commands) it must exist and is
        opened read-only; its folder must exist unless ``make_folder`` (the default store's)."""
        self.url = url
        self.path = _path(url)
        self._in_transaction = False
        if not create:
            self.conn = self._open_read_only()
            self.read_only = True
            self._retry(self.check_version)
            return
        if make_folder:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.parent.is_dir():
            raise RecordsError(
                f"cannot open records database {self.path}: "
                f"folder {self.path.parent} does not exist"
            )
        try:
            self.conn = sqlite3.connect(
                self.path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise RecordsError(f"cannot open records database {self.path}: {exc}") from exc
        self._retry(self._setup)

    def _open_read_only(self) -> sqlite3.Connection:
        """A connection that cannot write (``mode=ro``); the file must exist. Where SQLite
        cannot even make the WAL index (a read-only folder), nobody can be writing the file,
        so it is opened as immutable."""
        if not self.path.is_file():
            raise RecordsError(f"no records database at {self.path} (nothing was recorded there)")
        absolute = "/" + os.path.abspath(self.path).lstrip("/")  # //x would be a URI authority
        base = f"file:{quote(absolute)}?mode=ro"
        for uri in (base, base + "&immutable=1"):
            try:
                conn = sqlite3.connect(
                    uri,
                    uri=True,
                    timeout=_BUSY_SECONDS,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
                return conn
            except sqlite3.DatabaseError as exc:
                error = exc
                if exc.sqlite_errorname != "SQLITE_CANTOPEN":
                    break
        raise RecordsError(f"cannot read records database {self.path}: {error}") from error

    def _setup(self) -> None:
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.check_version()
        if not self.current:
            with self._locked():
                self.migrate()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, again after a short random pause while the database is locked."""
        for attempt in range(_ATTEMPTS):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                busy = (exc.sqlite_errorname or "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
                if not busy or attempt == _ATTEMPTS - 1 or self._in_transaction:
                    raise RecordsError(f"records database {self.path}: {exc}") from exc
                import random  # only a locked database needs it

                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
            except sqlite3.Error as exc:
                raise RecordsError(f"records database {self.path}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def lock(self, scope: str) -> contextlib.AbstractContextManager[None]:
        """One writer at a time for the whole read-match-write step."""
        return self.transaction()

    def begin(self) -> contextlib.AbstractContextManager[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``: the write lock is taken at the start."""
        return self._locked()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._in_transaction = False

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        return self._retry(lambda: self.conn.execute(sql, tuple(params)).fetchall())

    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write and return how many rows it touched."""
        return self._retry(lambda: self.conn.execute(sql, tuple(params)).rowcount)

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one write per row of parameters; how many rows they touched in all."""
        rows = list(rows)
        if not rows:
            return 0
        return self._retry(lambda: self.conn.executemany(sql, rows).rowcount)

    def columns(self, table: str) -> set[str]:
        """The column names of ``table`` (empty when it does not exist)."""
        return {row[1] for row in self.execute(f"PRAGMA table_info({table})")}

    def json_values(self, paths: Sequence[Sequence[str]]) -> str:
        """``json_extract`` of many paths: a JSON array (two at least, so it is one)."""
        quoted = ["'$." + ".".join(f'"{key}"' for key in path) + "'" for path in paths]
        quoted += quoted[:1] if len(quoted) == 1 else []
        return f"json_extract(record, {', '.join(quoted)})"

    def json_kind(self, name: str) -> str:
        """``json_type`` of one field."""
        return f"""json_type(record, '$."{name}"')"""

    def field(self, name: str) -> tuple[str, Any]:
        """``json_extract`` of one field."""
        return "json_extract(fields, ?)", f'$."{name}"'

"""The embedded default store: one SQLite file in WAL mode, safe for parallel writers.

    store = SqliteStore("sqlite:////home/me/.local/share/fabrikate/records.db")

Every writer waits for the lock (busy timeout) and retries when SQLite still says "locked",
so parallel ``fab generate`` processes lose no record.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from fabrikate.errors import InputError
from fabrikate.records.sqlstore import SqlStore
from fabrikate.records.store import RecordsError

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
        """Open the file of ``url``. Without ``create`` it must exist (read commands never make
        a store); its folder must exist unless ``make_folder`` (the default store's)."""
        self.url = url
        self.path = _path(url)
        if not create and not self.path.is_file():
            raise RecordsError(f"no records database at {self.path} (nothing was recorded there)")
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
        self._in_transaction = False
        self._retry(self._setup)

    def _setup(self) -> None:
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        with self._transaction():
            for statement in self.schema_statements():
                self.conn.execute(statement)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, again after a short random pause while the database is locked."""
        for attempt in range(_ATTEMPTS):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or attempt == _ATTEMPTS - 1 or self._in_transaction:
                    raise RecordsError(f"records database {self.path}: {exc}") from exc
                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
            except sqlite3.Error as exc:
                raise RecordsError(f"records database {self.path}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def lock(self, scope: str) -> contextlib.AbstractContextManager[None]:
        """One writer at a time for the whole read-match-write step."""
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

    def field(self, name: str) -> tuple[str, Any]:
        """``json_extract`` of one field."""
        return "json_extract(fields, ?)", f'$."{name}"'

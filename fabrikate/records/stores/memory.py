"""A record store in memory, for tests: ``memory://NAME`` (every open of one name in a process
sees the same records; nothing is kept after it).

    with open_store("memory://run") as store:
        store.add(record)
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fabrikate.errors import RecordsError
from fabrikate.records.stores.base import Row, Store

__all__ = ["MemoryStore"]


@dataclass
class _Tables:
    records: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
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
        with self._tables.lock:
            self._tables.records.append(copy.deepcopy(dict(record)))

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
        wanted = {"scope": scope, "environment": environment, "outcome": outcome}
        with self._tables.lock:
            found = [
                copy.deepcopy(r)
                for r in self._tables.records
                if all(v is None or r[k] == v for k, v in wanted.items())
                and (since is None or r["startedAt"] >= since)
            ]
        found.sort(key=lambda r: r["id"])
        found.sort(key=lambda r: r["startedAt"], reverse=True)
        return found[:limit] if limit is not None else found

    def get(self, ref: str) -> dict[str, Any]:
        """The record whose id or row key is, or starts with, ``ref``."""
        ref = ref.strip().lower()
        matches = [
            r for r in self.records() if ref in (r["id"], r["rowKey"]) or r["id"].startswith(ref)
        ]
        return self.pick(ref, matches[:5])

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

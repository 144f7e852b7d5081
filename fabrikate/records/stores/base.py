"""The small interface every record store implements, and the rows it keeps.

    class MyStore(Store):
        def add(self, record): ...

``stores/__init__.py`` picks a store by URL; each backend module imports only this one.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fabrikate.errors import RecordsError

__all__ = ["BEDROCK_FIELDS", "Row", "Store", "driver"]

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

    @abc.abstractmethod
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
            raise RecordsError(f"no record {ref!r}")
        exact = [r for r in candidates if ref in (r["id"], r["rowKey"])]
        if len(exact) == 1 or len(candidates) == 1:
            return (exact or candidates)[0]
        raise RecordsError(f"record id {ref!r} is ambiguous ({len(candidates)} records match)")


@contextlib.contextmanager
def driver(name: str, extra: str) -> Iterator[None]:
    """Turn a missing optional driver into an install hint."""
    try:
        yield
    except ImportError as exc:
        raise RecordsError(
            f"the {name} records store needs {exc.name}: pip install 'fabrikate-gitops[{extra}]'"
        ) from exc

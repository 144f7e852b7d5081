"""Record stores, chosen by one URL: the small interface every backend implements.

    with open_store("sqlite:////var/lib/fab/records.db") as store:
        store.add(record)
        latest = store.records(environment="prod", limit=1)

URLs: ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (SQLAlchemy's form;
default: ``records.db`` in the user data directory),
``postgresql://user@host/db``, ``azuretable://TABLE`` (connection string in
``AZURE_STORAGE_CONNECTION_STRING``) and ``none``.
"""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fabrikate.errors import FabrikateError, InputError

__all__ = [
    "BEDROCK_FIELDS",
    "RecordsError",
    "Row",
    "Store",
    "default_url",
    "open_store",
    "records_off",
    "resolve_url",
]

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


class RecordsError(FabrikateError):
    """A record could not be written or read."""


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


def default_url() -> str:
    """``sqlite:///<user data dir>/records.db`` (platformdirs; ``XDG_DATA_HOME`` honoured)."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("fabrikate", appauthor=False))
    return f"sqlite:///{folder / 'records.db'}"


def resolve_url(url: str | None) -> str:
    """The store URL in force: the argument, else ``FAB_RECORDS``, else the default."""
    return url or os.environ.get("FAB_RECORDS") or default_url()


def records_off(url: str | None) -> bool:
    """Whether the store in force (``resolve_url``) is ``none``."""
    return resolve_url(url).strip().lower() == "none"


def open_store(url: str | None = None, *, create: bool = True) -> Store | None:
    """Open the store ``url`` names (None for ``none``: recording is off).

    Without ``create`` (the commands that only read) the store is opened read-only: it is never
    created, migrated or written, and one that does not exist is an error.
    """
    if records_off(url):
        return None
    url = resolve_url(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from fabrikate.records.stores.sqlite import SqliteStore

        return SqliteStore(url, create=create, make_folder=url == default_url())
    if scheme in ("postgresql", "postgres"):
        from fabrikate.records.stores.postgresql import PostgresStore

        return PostgresStore(url, create=create)
    if scheme == "azuretable":
        from fabrikate.records.stores.azuretable import AzureTableStore

        return AzureTableStore(url, create=create)
    raise InputError(
        f"unknown records store {_masked(url)!r} "
        "(use sqlite:///path, sqlite:////abs/path, postgresql://…, azuretable://TABLE or none)"
    )


@contextlib.contextmanager
def driver(name: str, extra: str) -> Iterator[None]:
    """Turn a missing optional driver into an install hint."""
    try:
        yield
    except ImportError as exc:
        raise RecordsError(
            f"the {name} records store needs {exc.name}: pip install 'fabrikate-gitops[{extra}]'"
        ) from exc


def _masked(url: str) -> str:
    from fabrikate.records.mask import mask_text  # regexes compiled only when needed

    return mask_text(url)

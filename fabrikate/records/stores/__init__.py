"""Record stores, chosen by one URL; a store's driver is imported only once its URL is known.

    with open_store("sqlite:////var/lib/fab/records.db") as store:
        store.add(record)
        latest = store.records(environment="prod", limit=1)

URLs: ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (SQLAlchemy's form;
default: ``records.db`` in the user data directory),
``postgresql://user@host/db``, ``azuretable://TABLE`` (connection string in
``AZURE_STORAGE_CONNECTION_STRING``), ``memory://NAME`` (for tests: in this process only) and
``none``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fabrikate.errors import InputError
from fabrikate.settings import variable

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store

__all__ = ["default_url", "open_store", "records_off", "resolve_url"]


def default_url() -> str:
    """``sqlite:///<user data dir>/records.db`` (platformdirs; ``XDG_DATA_HOME`` honoured)."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("fabrikate", appauthor=False))
    return f"sqlite:///{folder / 'records.db'}"


def resolve_url(url: str | None) -> str:
    """The store URL in force: the argument, else ``FAB_RECORDS``, else the default."""
    return url or variable("RECORDS") or default_url()


def records_off(url: str | None) -> bool:
    """Whether the store in force (``resolve_url``) is ``none``."""
    return resolve_url(url).strip().lower() == "none"


def open_store(
    url: str | None = None, *, create: bool = True, connections: int = 1
) -> Store | None:
    """Open the store ``url`` names (None for ``none``: recording is off).

    Without ``create`` (the commands that only read) the store is opened read-only: it is never
    created, migrated or written, and one that does not exist is an error. ``connections``
    above one gives PostgreSQL a pool of that many, for threads that query at once
    (``Store.concurrent``); the other stores keep one.
    """
    if records_off(url):
        return None
    url = resolve_url(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from fabrikate.records.stores.sqlite import SqliteStore

        return SqliteStore(url, create=create, make_folder=_is_default(url))
    if scheme in ("postgresql", "postgres"):
        from fabrikate.records.stores.postgresql import PostgresStore

        return PostgresStore(url, create=create, connections=connections)
    if scheme == "azuretable":
        from fabrikate.records.stores.azuretable import AzureTableStore

        return AzureTableStore(url, create=create)
    if scheme == "memory":
        from fabrikate.records.stores.memory import MemoryStore

        return MemoryStore(url, create=create)
    raise InputError(
        f"unknown records store {_masked(url)!r} "
        "(use sqlite:///path, sqlite:////abs/path, postgresql://…, azuretable://TABLE, "
        "memory://NAME or none)"
    )


def _is_default(url: str) -> bool:
    """Whether ``url`` is ``default_url()``, asked only of a URL that can be (platformdirs
    costs milliseconds to import, on every run that names its store)."""
    return url.endswith("/records.db") and url == default_url()


def _masked(url: str) -> str:
    from fabrikate.records.mask import mask_text  # regexes compiled only when needed

    return mask_text(url)

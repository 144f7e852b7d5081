"""Deployment records: one per ``fab generate``, kept in a store chosen by URL.

    from fabrikate.records import open_store

    with open_store("sqlite:////tmp/records.db") as store:
        for record in store.records(environment="prod", limit=5):
            print(record["rowKey"], record["outcome"], record["output"]["digest"])

Importing this package is cheap: its names are imported on first use, and jsonschema and the
database drivers by the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabrikate.support.lazy import lazy_exports

_EXPORTS = {
    "BEDROCK_FIELDS": "fabrikate.records.stores.base",
    "SCHEMA": "fabrikate.records.build",
    "RecordsError": "fabrikate.errors",
    "RecordQuery": "fabrikate.records.stores.base",
    "Row": "fabrikate.records.stores.base",
    "Run": "fabrikate.records.run",
    "Stage": "fabrikate.records.deployments",
    "Store": "fabrikate.records.stores.base",
    "build_record": "fabrikate.records.build",
    "create": "fabrikate.records.deployments",
    "default_url": "fabrikate.records.stores",
    "open_store": "fabrikate.records.stores",
    "record_generation": "fabrikate.records.recording",
    "resolve_url": "fabrikate.records.stores",
    "validate": "fabrikate.records.build",
    "write_record": "fabrikate.records.recording",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from fabrikate.errors import RecordsError
    from fabrikate.records.build import SCHEMA, build_record, validate
    from fabrikate.records.deployments import Stage, create
    from fabrikate.records.recording import record_generation, write_record
    from fabrikate.records.run import Run
    from fabrikate.records.stores import default_url, open_store, resolve_url
    from fabrikate.records.stores.base import BEDROCK_FIELDS, RecordQuery, Row, Store


__getattr__ = lazy_exports(globals(), _EXPORTS, {})


def __dir__() -> list[str]:
    return __all__

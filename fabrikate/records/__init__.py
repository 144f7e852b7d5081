"""Deployment records: one per ``fab generate``, kept in a store chosen by URL.

    from fabrikate.records import open_store

    with open_store("sqlite:////tmp/records.db") as store:
        for record in store.records(environment="prod", limit=5):
            print(record["rowKey"], record["outcome"], record["output"]["digest"])

Importing this package is cheap: jsonschema and the database drivers are imported
by the functions that need them.
"""

from __future__ import annotations

from fabrikate.records.build import SCHEMA, Run, build_record, validate
from fabrikate.records.deployments import Stage, create
from fabrikate.records.recording import record_generation, recording, write_record
from fabrikate.records.store import (
    BEDROCK_FIELDS,
    RecordsError,
    Row,
    Store,
    default_url,
    open_store,
    resolve_url,
)

__all__ = [
    "BEDROCK_FIELDS",
    "SCHEMA",
    "RecordsError",
    "Row",
    "Run",
    "Stage",
    "Store",
    "build_record",
    "create",
    "default_url",
    "open_store",
    "record_generation",
    "recording",
    "resolve_url",
    "validate",
    "write_record",
]

"""The record fields the DORA figures read, and a store's plain columns holding them.

row = columns(record)             # the fab_record values of DORA_COLUMNS
found = from_columns(names, row)  # the record's DORA view, as ``as_dora`` makes it
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DORA_COLUMNS", "DORA_FIELDS", "as_dora", "columns", "from_columns"]

# The record fields the figures read (dotted paths): a store may answer a metrics query with
# only these, which is much less to decode than whole records.
DORA_FIELDS = (
    *("id", "scope", "environment", "ring", "service", "startedAt", "finishedAt", "outcome"),
    *("ci.validationOnly", "output.digest", "output.changed", "manifest.commit"),
    *("source.commitTime", "hld.commitTime"),
)
# Columns of fab_record (schema version 4) with the fields no other column holds as written.
DORA_COLUMNS = (
    "finished_at",
    "validation_only",  # "1" when ci.validationOnly is true
    "output_digest",
    "output_unchanged",  # "1" when output.changed is false
    "manifest_commit_as_written",  # the fact column is lower case
    "source_commit_time",
    "hld_commit_time",
)


def as_dora(found: Mapping[str, Any]) -> dict[str, Any]:
    """A view of the ``DORA_FIELDS`` (``Store.views``) as ``dora`` reads it."""
    return {**found, "ci": found.get("ci") or {}, "hld": found.get("hld") or {}}


def _part(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    part = record.get(name)
    return part if isinstance(part, Mapping) else {}


def columns(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """The ``DORA_COLUMNS`` values of one record."""
    output = _part(record, "output")
    return (
        record.get("finishedAt"),
        "1" if _part(record, "ci").get("validationOnly") else None,
        output.get("digest"),
        "1" if output.get("changed") is False else None,
        _part(record, "manifest").get("commit"),
        _part(record, "source").get("commitTime"),
        _part(record, "hld").get("commitTime"),
    )


def from_columns(row: Sequence[Any]) -> dict[str, Any]:
    """The DORA view of a record from its id, scope, environment, ring, service, startedAt,
    outcome and ``DORA_COLUMNS``: what ``dora`` reads of ``as_dora`` of its ``DORA_FIELDS``."""
    rid, scope, env, ring, service, started, outcome, finished, only, digest, same = row[:11]
    manifest, source_time, hld_time = row[11:]
    return {
        "id": rid,
        "scope": scope,
        "environment": env,
        "ring": ring,
        "service": service,
        "startedAt": started,
        "finishedAt": finished,
        "outcome": outcome,
        "ci": {"validationOnly": only == "1"},
        "output": {"digest": digest, "changed": same != "1"},
        "manifest": {"commit": manifest},
        "source": {"commitTime": source_time},
        "hld": {"commitTime": hld_time},
    }

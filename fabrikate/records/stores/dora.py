"""What the DORA figures read of a record and of its cluster events, and how stores keep it.

row = columns(record)                     # the fab_record values of DORA_COLUMNS
landed = landings(events)                 # per revision: first applied/healthy time, failed
found = dora_row(view, landed)            # one record as the figures read it
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent

__all__ = [
    "DORA_COLUMNS",
    "DORA_FIELDS",
    "LANDED_STATES",
    "DoraRow",
    "Landing",
    "columns",
    "dora_row",
    "landings",
    "manifest_commit",
]

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
LANDED_STATES = ("applied", "healthy")


class Landing(NamedTuple):
    """What the events about one revision say: when it first ran, and whether it failed."""

    at: str | None  # the earliest applied or healthy event's time
    failed: bool  # some event about it is failed


class DoraRow(NamedTuple):
    """One record as the DORA figures read it, with the ``Landing`` of its manifest commit."""

    id: str
    scope: str
    environment: str
    ring: str | None
    service: str | None
    started_at: str
    finished_at: str | None
    outcome: str
    validation_only: bool
    digest: str | None
    unchanged: bool  # output.changed is false
    change_time: str | None  # source.commitTime, else hld.commitTime
    landed_at: str | None
    event_failed: bool


def landings(events: Iterable[ClusterEvent]) -> dict[str, Landing]:
    """The ``Landing`` of every revision the events name (as stored: the agents' full
    SHAs, lower case)."""
    found: dict[str, Landing] = {}
    for event in events:
        revision = event.revision
        if not revision:
            continue
        at, failed = found.get(revision, (None, False))
        if event.state in LANDED_STATES and (at is None or event.at < at):
            at = event.at
        found[revision] = Landing(at, failed or event.state == "failed")
    return found


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


def manifest_commit(record: Mapping[str, Any]) -> str | None:
    """The record's manifest commit as events name it (lower case), when it can name one."""
    commit = str(_part(record, "manifest").get("commit") or "").lower()
    return commit if len(commit) >= 7 else None


def dora_row(record: Mapping[str, Any], landed: Mapping[str, Landing]) -> DoraRow:
    """The ``DoraRow`` of a record (or of its ``DORA_FIELDS`` view), its manifest commit's
    landing looked up in ``landed``."""
    finished, only, digest, same, _, source_time, hld_time = columns(record)
    commit = manifest_commit(record)
    landing = landed.get(commit) if commit else None
    return DoraRow(
        record["id"],
        record["scope"],
        record["environment"],
        record.get("ring"),
        record.get("service"),
        record["startedAt"],
        finished,
        record["outcome"],
        only == "1",
        digest,
        same == "1",
        source_time or hld_time or None,
        landing.at if landing else None,
        landing.failed if landing else False,
    )

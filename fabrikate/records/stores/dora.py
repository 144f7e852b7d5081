"""What the DORA figures read of a record and of its cluster events, and how stores keep it.

row = columns(record)                     # the fab_record values of DORA_COLUMNS
landed = landings(events)                 # per revision: first applied/healthy time, failed
found = dora_row(view, landed)            # one record as the figures read it
facts = dora_facts(rows, marks, since)    # the deployments from ``since`` on, with their flags

Deployments are grouped by (scope, environment, ring, service): a rollback and the failure it
makes of the deployment before it are looked for within the group. Every store walks its rows
here; a SQL store reads them from one covering index and the marks in one statement
(``SqlStore.dora_facts``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent, Mark

__all__ = [
    "DORA_COLUMNS",
    "DORA_FIELDS",
    "LANDED_STATES",
    "Deployment",
    "DoraFacts",
    "DoraRow",
    "Landing",
    "columns",
    "dora_facts",
    "dora_row",
    "landings",
    "manifest_commit",
    "walk",
]

# The record fields the figures read (dotted paths): a store may answer a metrics query with
# only these, which is much less to decode than whole records.
DORA_FIELDS = (
    *("id", "scope", "environment", "ring", "service", "startedAt", "finishedAt", "outcome"),
    *("ci.validationOnly", "output.digest", "output.changed", "manifest.commit"),
    "source.commitTime",
)
# Columns of fab_record (schema version 4) with the fields no other column holds as written.
DORA_COLUMNS = (
    "finished_at",
    "validation_only",  # "1" when ci.validationOnly is true
    "output_digest",
    "output_unchanged",  # "1" when output.changed is false
    "manifest_commit_as_written",  # the fact column is lower case
    "source_commit_time",
    "hld_commit_time",  # written since version 4; the lead time no longer reads it
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
    source_time: str | None  # source.commitTime
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
    finished, only, digest, same, _, source_time, _ = columns(record)
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
        source_time or None,
        landing.at if landing else None,
        landing.failed if landing else False,
    )


Group = tuple[str, str, str, str]  # scope, environment, ring, service


class Deployment(NamedTuple):
    """One deployment as the DORA figures read it: when it ran and from which change, and
    whether it failed (``failed``) or is rework (a rollback, or marked rollback or hotfix)."""

    id: str
    scope: str
    environment: str
    ring: str | None
    service: str | None
    started_at: str
    deployed_at: str | None  # its first applied or healthy event, else the generation's end
    source_time: str | None  # source.commitTime
    failed: bool
    rework: bool
    returned_to: str | None  # a rollback: the earlier deployment of its group with its digest


class DoraFacts(NamedTuple):
    """What the figures of a query read: how many records it matched, each (environment, ring,
    service) among them, and the deployments from a time on, oldest first."""

    records: int
    places: set[tuple[str, str | None, str | None]]
    deployments: list[Deployment]


def walk(rows: Iterable[Sequence[Any]], marks: Iterable[Mark], since: str = "") -> list[Deployment]:
    """The deployments among rows (``DoraRow``s, or plain tuples of their fields) started from
    ``since`` on, oldest first: succeeded, not validation only, with an output digest other
    than the previous one of the group (the first of a group counts unless its output did not
    change). One pass: a deployment is a rollback when an earlier one of its group had its
    digest; it fails when marked failed, when an event about its manifest commit failed, or when
    the next deployment of its group is a rollback (or marked so)."""
    kinds: dict[str, set[str]] = {}
    for mark in marks:
        kinds.setdefault(mark.record_id, set()).add(mark.kind)
    groups: dict[Group, _Group] = {}
    undone: set[str] = set()  # deployments whose next one of the group is a rollback
    found: list[tuple[Sequence[Any], str | None, Collection[str]]] = []
    for row in sorted(rows, key=itemgetter(5)):  # started_at; ties keep the newest id first
        digest = row[9]
        if row[7] != "succeeded" or row[8] or not digest:
            continue
        ident = row[0]
        key = (row[1], row[2], row[3] or "", row[4] or "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group()
            if row[10]:  # the first of its group, and its output did not change
                group.digest = digest
                continue
        elif group.digest == digest:
            continue
        group.digest = digest
        marked = kinds.get(ident, ())
        back = group.deployed.get(digest)
        group.deployed[digest] = ident
        if (back is not None or "rollback" in marked) and group.last is not None:
            undone.add(group.last)
        group.last = ident
        if row[5] >= since:
            found.append((row, back, marked))
    return [
        Deployment(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[12] or row[6],
            row[11],
            bool(row[13]) or "failed" in marked or row[0] in undone,
            back is not None or "rollback" in marked or "hotfix" in marked,
            back,
        )
        for row, back, marked in found
    ]


class _Group:
    """What a walk keeps of one group: the digest of its last succeeded row, its last
    deployment, and the latest deployment of each digest."""

    __slots__ = ("deployed", "digest", "last")

    def __init__(self) -> None:
        self.digest: str | None = None
        self.last: str | None = None
        self.deployed: dict[str, str] = {}


def dora_facts(rows: Iterable[Sequence[Any]], marks: Iterable[Mark], since: str) -> DoraFacts:
    """The ``DoraFacts`` of rows (``DoraRow``s or tuples of their fields; history included)
    and the marks of their records; the deployments started before ``since`` are left out."""
    rows = list(rows)
    return DoraFacts(
        len(rows), {(row[2], row[3], row[4]) for row in rows}, walk(rows, marks, since)
    )

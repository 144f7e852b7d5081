"""DORA figures from records, cluster events and user marks, each with its definition.

    figures = dora(records, events, marks, since, until)
    for figure in figures:
        print(figure.name, figure.value, figure.unit, figure.definition, figure.records)

Records from before ``since`` may be passed: they are the history a rollback is detected
against, and are never counted. Deployments are grouped by (scope, environment, ring,
service): a rollback, a failure's next deployment and a recovery are looked for within the
group (``stores.dora``).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fabrikate.records.events import ClusterEvent, Mark
from fabrikate.records.stores.base import view
from fabrikate.records.stores.dora import (
    DORA_FIELDS,
    Deployment,
    DoraRow,
    dora_facts,
    dora_row,
    landings,
    walk,
)

__all__ = [
    "DEFINITIONS",
    "DORA_FIELDS",
    "Figure",
    "deployments",
    "dora",
    "dora_view",
    "failures",
    "figures",
    "rollbacks",
]

DEFINITIONS = {
    "deploymentFrequency": "Deployments per day in the window: successful generations (not PR "
    "validation runs) whose output digest differs from the previous one of the same scope, "
    "environment, ring and service.",
    "leadTime": "Median, over the window's deployments, of the time the change first ran (its "
    "first applied or healthy cluster event, else the end of the generation) minus the time of "
    "its source commit; a deployment with no source commit time, or one after the change ran, "
    "is counted as unknown.",
    "changeFailureRate": "Deployments that failed, divided by deployments: a deployment fails "
    "when it is marked failed, a cluster reports a failed event for its manifest commit, or the "
    "next deployment of its group is a rollback.",
    "recoveryTime": "Median, over the window's failed deployments, of the time from the failed "
    "deployment to the next deployment of its group that did not fail.",
    "reworkRate": "Deployments that are rollbacks (marked so, or an output digest equal to an "
    "earlier one of the group) or are marked hotfix, divided by deployments.",
}
_NAMES = {
    "deploymentFrequency": "deployment frequency",
    "leadTime": "lead time for changes",
    "changeFailureRate": "change failure rate",
    "recoveryTime": "failed deployment recovery time",
    "reworkRate": "deployment rework rate",
}


def dora_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``DORA_FIELDS`` of a record, nested as in the record: ``dora`` of the views equals
    ``dora`` of the records."""
    return view(record, DORA_FIELDS)


@dataclass(frozen=True, slots=True)
class Figure:
    """One DORA figure: its value (None when nothing to measure), unit and definition, and the
    ids of the records behind it."""

    key: str
    value: float | None
    unit: str
    records: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The figure's name in words."""
        return _NAMES[self.key]

    @property
    def definition(self) -> str:
        """How the figure is computed."""
        return DEFINITIONS[self.key]

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "key": self.key,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "definition": self.definition,
            "records": list(self.records),
            **dict(self.extra),
        }


def _rows(records: Iterable[Mapping[str, Any]], events: Iterable[ClusterEvent]) -> list[DoraRow]:
    landed = landings(events)
    return [dora_row(record, landed) for record in records]


def deployments(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records that deployed something, oldest first: succeeded, not a PR validation run,
    with an output digest that differs from the previous succeeded record of its group."""
    by_id = {record["id"]: record for record in records}
    return [by_id[found.id] for found in walk(_rows(by_id.values(), []), [])]


def rollbacks(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Deployments whose output digest equals an earlier deployment's of the same group: the
    id of each, mapped to the id of the earlier record it returned to."""
    found = walk(_rows(records, []), [])
    return {d.id: d.returned_to for d in found if d.returned_to is not None}


def failures(
    records: Iterable[Mapping[str, Any]], events: Sequence[ClusterEvent], marks: Sequence[Mark]
) -> set[str]:
    """The ids of the deployments that failed (``DEFINITIONS["changeFailureRate"]``)."""
    return {found.id for found in walk(_rows(records, events), marks) if found.failed}


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def dora(
    records: Iterable[Mapping[str, Any]],
    events: Iterable[ClusterEvent],
    marks: Iterable[Mark],
    since: datetime,
    until: datetime,
) -> list[Figure]:
    """The five DORA figures over [since, until), from the given records (history included)
    and the events about their manifest commits."""
    facts = dora_facts(_rows(records, events), marks, since.isoformat())
    return figures(facts.deployments, since, until)


def _runs(window: Sequence[Deployment]) -> tuple[dict[str, float], int, dict[str, float]]:
    """Seconds from the source commit to the first run of each deployment that knows both (a
    negative one is a wrong clock or input), how many are unknown, and the seconds from each
    failed deployment to the next one of its group that did not fail."""
    parse = datetime.fromisoformat
    ran = [parse(row.deployed_at) if row.deployed_at else None for row in window]
    leads = {}
    for row, end in zip(window, ran, strict=True):
        if end is not None and row.source_time:
            lead = (end - parse(row.source_time)).total_seconds()
            if lead >= 0:
                leads[row.id] = lead
    recovered = {}
    recovery: dict[tuple[str, ...], datetime | None] = {}  # the next good one's run, by group
    for row, end in zip(reversed(window), reversed(ran), strict=True):
        group = (row.scope, row.environment, row.ring or "", row.service or "")
        if row.failed:
            if (good := recovery.get(group)) is not None and end is not None:
                recovered[row.id] = (good - end).total_seconds()
        else:
            recovery[group] = end
    return leads, len(window) - len(leads), dict(reversed(recovered.items()))


def figures(deployed: Iterable[Deployment], since: datetime, until: datetime) -> list[Figure]:
    """``dora`` of deployments (oldest first) as ``dora_facts`` or ``Store.dora_facts`` give
    them; those outside [since, until) are not counted."""
    parse = datetime.fromisoformat
    window = [row for row in deployed if since <= parse(row.started_at) < until]
    ids = tuple(row.id for row in window)
    days = (until - since).total_seconds() / 86400
    leads, unknown, recovered = _runs(window)
    failed = _ordered(window, 8)
    rework = _ordered(window, 9)
    return [
        Figure(
            "deploymentFrequency",
            len(window) / days if days > 0 else None,
            "per day",
            ids,
            {"count": len(window), "perWeek": len(window) / days * 7 if days > 0 else None},
        ),
        Figure(
            "leadTime", _median(list(leads.values())), "seconds", tuple(leads), {"unknown": unknown}
        ),
        Figure("changeFailureRate", _ratio(len(failed), len(ids)), "ratio", failed),
        Figure("recoveryTime", _median(list(recovered.values())), "seconds", tuple(recovered)),
        Figure("reworkRate", _ratio(len(rework), len(ids)), "ratio", rework),
    ]


def _ordered(window: Sequence[Deployment], flag: int) -> tuple[str, ...]:
    """The ids of the deployments whose field number ``flag`` is true, in order."""
    return tuple(row[0] for row in window if row[flag])

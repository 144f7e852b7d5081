"""DORA figures from records, cluster events and user marks, each with its definition.

    figures = dora(records, events, marks, since, until)
    for figure in figures:
        print(figure.name, figure.value, figure.unit, figure.definition, figure.records)

Records from before ``since`` may be passed: they are the history a rollback is detected
against, and are never counted. Deployments are grouped by (scope, environment, ring,
service): a rollback, a failure's next deployment and a recovery are looked for within the
group.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from fabrikate.records.events import ClusterEvent, Mark
from fabrikate.records.stores.base import view
from fabrikate.records.stores.dora import DORA_FIELDS, DoraRow, dora_row, landings

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
    "first applied or healthy cluster event, else the end of the generation) minus the commit "
    "time of the change (the source commit, else the HLD commit).",
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


Group = tuple[str, str, str, str]  # scope, environment, ring, service


def _group(row: DoraRow) -> Group:
    return (row.scope, row.environment, row.ring or "", row.service or "")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class _Walk:
    """The deployments among rows, oldest first, with their groups, and the rollbacks among
    them (by output digest): one pass, whatever the figures then need."""

    def __init__(self, rows: Iterable[DoraRow]) -> None:
        previous: dict[Group, str] = {}
        seen: set[tuple[Group, str]] = set()
        self.listed: list[DoraRow] = []
        self.groups: list[Group] = []
        self.rollbacks: dict[str, str] = {}  # id -> the earlier deployment it returned to
        earlier: dict[tuple[Group, str], str] = {}
        for row in sorted(rows, key=attrgetter("started_at")):
            digest = row.digest
            if row.outcome != "succeeded" or row.validation_only or not digest:
                continue
            group = _group(row)
            last = previous.get(group)
            previous[group] = digest
            if last == digest or (last is None and row.unchanged):
                continue
            key = (group, digest)
            if key in seen:
                self.rollbacks[row.id] = earlier[key]
            seen.add(key)
            earlier[key] = row.id
            self.listed.append(row)
            self.groups.append(group)

    def failed(self, marks: Sequence[Mark]) -> set[str]:
        """The ids of the deployments that failed (``DEFINITIONS["changeFailureRate"]``)."""
        rolled = set(self.rollbacks) | _marked(marks, "rollback")
        failed = _marked(marks, "failed")
        last: dict[Group, str] = {}
        for row, group in zip(self.listed, self.groups, strict=True):
            if row.event_failed:
                failed.add(row.id)
            if row.id in rolled and group in last:
                failed.add(last[group])
            last[group] = row.id
        return failed & {row.id for row in self.listed}

    def recoveries(self, starts: set[str], failed: set[str]) -> dict[str, float]:
        """Seconds from each deployment of ``starts`` to the next one of its group that did
        not fail, in the order of ``listed``."""
        found = {}
        recovery: dict[Group, DoraRow] = {}  # the next good one, by group
        for row, group in zip(reversed(self.listed), reversed(self.groups), strict=True):
            recovered = recovery.get(group)
            if row.id in starts and recovered is not None:
                start, end = _deployed_at(row), _deployed_at(recovered)
                if start and end:
                    found[row.id] = (end - start).total_seconds()
            if row.id not in failed:
                recovery[group] = row
        return dict(reversed(found.items()))


def _deployed_at(row: DoraRow) -> datetime | None:
    """``journey.deployed_at`` of a deployment: its first applied or healthy event, else the
    end of its generation."""
    return _time(row.landed_at or row.finished_at)


def _lead_time(row: DoraRow) -> float | None:
    start, end = _time(row.change_time), _deployed_at(row)
    return (end - start).total_seconds() if start and end else None


def _rows(records: Iterable[Mapping[str, Any]], events: Iterable[ClusterEvent]) -> list[DoraRow]:
    landed = landings(events)
    return [dora_row(record, landed) for record in records]


def deployments(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records that deployed something, oldest first: succeeded, not a PR validation run,
    with an output digest that differs from the previous succeeded record of its group."""
    by_id = {record["id"]: record for record in records}
    return [by_id[row.id] for row in _Walk(_rows(by_id.values(), [])).listed]


def rollbacks(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Deployments whose output digest equals an earlier deployment's of the same group: the
    id of each, mapped to the id of the earlier record it returned to."""
    return _Walk(_rows(records, [])).rollbacks


def _marked(marks: Iterable[Mark], *kinds: str) -> set[str]:
    return {mark.record_id for mark in marks if mark.kind in kinds}


def failures(
    records: Iterable[Mapping[str, Any]], events: Sequence[ClusterEvent], marks: Sequence[Mark]
) -> set[str]:
    """The ids of the deployments that failed (``DEFINITIONS["changeFailureRate"]``)."""
    return _Walk(_rows(records, events)).failed(marks)


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
    return figures(_rows(records, events), marks, since, until)


def figures(
    rows: Iterable[DoraRow], marks: Iterable[Mark], since: datetime, until: datetime
) -> list[Figure]:
    """``dora`` of records read as ``DoraRow``s (``Store.dora_rows``)."""
    walk, noted = _Walk(rows), list(marks)
    window = [r for r in walk.listed if since <= datetime.fromisoformat(r.started_at) < until]
    ids = tuple(r.id for r in window)
    failed_ever = walk.failed(noted)
    failed = failed_ever & set(ids)
    days = (until - since).total_seconds() / 86400
    leads = {r.id: lead for r in window if (lead := _lead_time(r)) is not None}
    recovered = walk.recoveries(failed, failed_ever)
    rework = (set(walk.rollbacks) | _marked(noted, "rollback", "hotfix")) & set(ids)
    return [
        Figure(
            "deploymentFrequency",
            len(window) / days if days > 0 else None,
            "per day",
            ids,
            {"count": len(window), "perWeek": len(window) / days * 7 if days > 0 else None},
        ),
        Figure("leadTime", _median(list(leads.values())), "seconds", tuple(leads)),
        Figure("changeFailureRate", _ratio(len(failed), len(ids)), "ratio", _ordered(ids, failed)),
        Figure("recoveryTime", _median(list(recovered.values())), "seconds", tuple(recovered)),
        Figure("reworkRate", _ratio(len(rework), len(ids)), "ratio", _ordered(ids, rework)),
    ]


def _ordered(ids: Sequence[str], chosen: set[str]) -> tuple[str, ...]:
    return tuple(i for i in ids if i in chosen)

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
from typing import Any

from fabrikate.records.events import ClusterEvent, Mark
from fabrikate.records.journey import deployed_at, events_for, lead_time
from fabrikate.records.stores.base import view
from fabrikate.records.stores.dora import DORA_FIELDS, as_dora

__all__ = [
    "DEFINITIONS",
    "DORA_FIELDS",
    "Figure",
    "as_dora",
    "deployments",
    "dora",
    "dora_view",
    "failures",
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
    return as_dora(view(record, DORA_FIELDS))


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


def _group(record: Mapping[str, Any]) -> tuple[str, str, str, str]:
    service = record.get("service") or ""
    return (record["scope"], record["environment"], record.get("ring") or "", service)


def _digest(record: Mapping[str, Any]) -> str | None:
    return (record.get("output") or {}).get("digest")


def deployments(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records that deployed something, oldest first: succeeded, not a PR validation run,
    with an output digest that differs from the previous succeeded record of its group."""
    previous: dict[tuple[str, str, str, str], str | None] = {}
    found = []
    for record in sorted(records, key=lambda r: r["startedAt"]):
        digest = _digest(record)
        if record["outcome"] != "succeeded" or record["ci"].get("validationOnly") or not digest:
            continue
        group = _group(record)
        first = group not in previous
        if (first and (record["output"].get("changed") is not False)) or (
            not first and previous[group] != digest
        ):
            found.append(record)
        previous[group] = digest
    return found


def rollbacks(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Deployments whose output digest equals an earlier deployment's of the same group: the
    id of each, mapped to the id of the earlier record it returned to."""
    return _rollbacks(deployments(records))


def _rollbacks(listed: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``rollbacks`` of deployments already listed (oldest first)."""
    seen: dict[tuple[tuple[str, str, str, str], str], str] = {}
    found = {}
    for record in listed:
        key = (_group(record), _digest(record) or "")
        if key in seen:
            found[record["id"]] = seen[key]
        seen[key] = record["id"]
    return found


class _Events:
    """Events by the revision they name, so each record finds its own without a scan."""

    def __init__(self, events: Iterable[ClusterEvent]) -> None:
        self.all = list(events)
        self.by_revision: dict[str, list[ClusterEvent]] = {}
        for event in self.all:
            self.by_revision.setdefault(event.revision or "", []).append(event)
        self.found: dict[str, list[ClusterEvent]] = {}  # by manifest commit, once each

    def about(self, record: Mapping[str, Any]) -> list[ClusterEvent]:
        """The events about the record's manifest commit (``journey.events_for``)."""
        commit = ((record.get("manifest") or {}).get("commit") or "").lower()
        found = self.found.get(commit)
        if found is None:
            if len(commit) in (40, 64):  # a full commit: the revision itself
                found = events_for(record, self.by_revision.get(commit, []))
            else:  # a short one matches revisions by prefix
                found = events_for(record, self.all)
            self.found[commit] = found
        return found


def _marked(marks: Iterable[Mark], *kinds: str) -> set[str]:
    return {mark.record_id for mark in marks if mark.kind in kinds}


def failures(
    records: Iterable[Mapping[str, Any]], events: Sequence[ClusterEvent], marks: Sequence[Mark]
) -> set[str]:
    """The ids of the deployments that failed (``DEFINITIONS["changeFailureRate"]``)."""
    return _failures(deployments(records), _Events(events), marks)


def _failures(
    listed: Sequence[Mapping[str, Any]], events: _Events, marks: Sequence[Mark]
) -> set[str]:
    """``failures`` among deployments already listed (oldest first)."""
    rolled = set(_rollbacks(listed)) | _marked(marks, "rollback")
    failed = _marked(marks, "failed")
    failed |= {r["id"] for r in listed if any(e.state == "failed" for e in events.about(r))}
    last: dict[tuple[str, str, str, str], str] = {}
    for record in listed:
        group = _group(record)
        if record["id"] in rolled and group in last:
            failed.add(last[group])
        last[group] = record["id"]
    return failed & {r["id"] for r in listed}


def _in(record: Mapping[str, Any], since: datetime, until: datetime) -> bool:
    return since <= datetime.fromisoformat(record["startedAt"]) < until


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _recoveries(
    listed: Sequence[Mapping[str, Any]], starts: set[str], failed: set[str], events: _Events
) -> dict[str, float]:
    """Seconds from each failed deployment of ``starts`` to the next one of its group that did
    not fail."""
    found = {}
    recovery: dict[tuple[str, str, str, str], Mapping[str, Any]] = {}  # next good one, by group
    for record in reversed(listed):
        group = _group(record)
        recovered = recovery.get(group)
        if record["id"] in starts and recovered is not None:
            start = deployed_at(record, events.about(record))
            end = deployed_at(recovered, events.about(recovered))
            if start and end:
                found[record["id"]] = (end - start).total_seconds()
        if record["id"] not in failed:
            recovery[group] = record
    return dict(reversed(found.items()))  # in the order of ``listed``


def dora(
    records: Iterable[Mapping[str, Any]],
    events: Iterable[ClusterEvent],
    marks: Iterable[Mark],
    since: datetime,
    until: datetime,
) -> list[Figure]:
    """The five DORA figures over [since, until), from the given records (history included)."""
    history, seen, noted = list(records), _Events(events), list(marks)
    listed = deployments(history)
    window = [r for r in listed if _in(r, since, until)]
    ids = tuple(r["id"] for r in window)
    failed_ever = _failures(listed, seen, noted)
    failed = failed_ever & set(ids)
    days = (until - since).total_seconds() / 86400
    leads = {r["id"]: lead_time(r, seen.about(r)) for r in window}
    timed = {k: v.total_seconds() for k, v in leads.items() if v is not None}
    recovered = _recoveries(listed, failed, failed_ever, seen)
    rework = (set(_rollbacks(listed)) | _marked(noted, "rollback", "hotfix")) & set(ids)
    return [
        Figure(
            "deploymentFrequency",
            len(window) / days if days > 0 else None,
            "per day",
            ids,
            {"count": len(window), "perWeek": len(window) / days * 7 if days > 0 else None},
        ),
        Figure("leadTime", _median(list(timed.values())), "seconds", tuple(timed)),
        Figure("changeFailureRate", _ratio(len(failed), len(ids)), "ratio", _ordered(ids, failed)),
        Figure("recoveryTime", _median(list(recovered.values())), "seconds", tuple(recovered)),
        Figure("reworkRate", _ratio(len(rework), len(ids)), "ratio", _ordered(ids, rework)),
    ]


def _ordered(ids: Sequence[str], chosen: set[str]) -> tuple[str, ...]:
    return tuple(i for i in ids if i in chosen)

"""DORA figures over a hand-built history; each expectation is worked out from its definition."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

from fabrikate.records.events import ClusterEvent, Mark
from fabrikate.records.metrics import (
    DEFINITIONS,
    DORA_FIELDS,
    deployments,
    dora,
    dora_view,
    failures,
    rollbacks,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def record(
    rid: str,
    at: datetime,
    digest: str | None,
    *,
    ring: str = "prod",
    outcome: str = "succeeded",
    validation: bool = False,
    source_age: timedelta = timedelta(hours=2),
) -> dict:
    commit = rid.ljust(40, "0")
    return {
        "id": rid,
        "scope": "hld",
        "environment": "prod",
        "ring": ring,
        "startedAt": at.isoformat(),
        "finishedAt": (at + timedelta(minutes=1)).isoformat(),
        "outcome": outcome,
        "ci": {"validationOnly": validation},
        "output": {"digest": f"sha256:{digest}", "changed": None} if digest else None,
        "hld": {"commitTime": (at - timedelta(hours=1)).isoformat()},
        "source": {"commit": "s" + rid, "commitTime": (at - source_age).isoformat(), "repo": None},
        "manifest": {"commit": commit, "commitShort": commit[:7]},
        "images": [],
    }


def event(rec: dict, state: str, after: timedelta, cluster: str = "east") -> ClusterEvent:
    at = datetime.fromisoformat(rec["finishedAt"]) + after
    return ClusterEvent.make(
        source="flux",
        cluster=cluster,
        ring=None,
        environment=None,
        kind="Kustomization",
        namespace="flux-system",
        name="apps",
        revision=rec["manifest"]["commit"],
        state=state,
        reason=None,
        message=None,
        at=at.isoformat(),
    )


R0 = record("a0", T0 - DAY, "A")  # history before the window
R1 = record("a1", T0 + 1 * DAY, "B")
R2 = record("a2", T0 + 2 * DAY, "B")  # same output as R1: not a deployment
R3 = record("a3", T0 + 3 * DAY, "C", source_age=timedelta(hours=5))
R4 = record("a4", T0 + 4 * DAY, "D")
R5 = record("a5", T0 + 5 * DAY, "B")  # R1's output again: a rollback
R6 = record("a6", T0 + 5.5 * DAY, "F", outcome="failed")
R7 = record("a7", T0 + 6 * DAY, "E", validation=True)  # PR validation: never a deployment
R8 = record("a8", T0 + 6 * DAY, "B", ring="canary")  # another ring: its own group
LATE = record("a9", T0 + 9 * DAY, "G")  # after the window
RECORDS = [R5, R0, R3, R8, R1, R7, R2, R4, R6, LATE]  # order does not matter
EVENTS = [
    event(R1, "applied", timedelta(minutes=20)),
    event(R1, "healthy", timedelta(minutes=30)),
    event(R1, "healthy", timedelta(minutes=10), cluster="west"),  # the first one counts
    event(R3, "applied", timedelta(minutes=5)),
    event(R3, "failed", timedelta(minutes=15)),
    event(R5, "healthy", timedelta(minutes=40)),
]
MARKS = [Mark("a4", "hotfix", "fix the config"), Mark("a8", "failed", "broke canary")]


def first_ran(rec: dict) -> datetime:
    """Definition: the first applied or healthy event, else the end of the generation."""
    mine = [e for e in EVENTS if e.revision == rec["manifest"]["commit"]]
    landed = sorted(e.at for e in mine if e.state in ("applied", "healthy"))
    return datetime.fromisoformat(landed[0] if landed else rec["finishedAt"])


def test_deployments_rollbacks_and_failures_follow_the_definitions() -> None:
    assert [r["id"] for r in deployments(RECORDS)] == ["a0", "a1", "a3", "a4", "a5", "a8", "a9"]
    assert rollbacks(RECORDS) == {"a5": "a1"}  # a8 is B too, but in the canary ring
    # a3: a failed event; a4: the next deployment of its group is a rollback; a8: marked.
    assert failures(RECORDS, EVENTS, MARKS) == {"a3", "a4", "a8"}


def test_dora_figures_over_a_window() -> None:
    since, until = T0, T0 + 7 * DAY
    figures = {f.key: f for f in dora(RECORDS, EVENTS, MARKS, since, until)}
    window = [R1, R3, R4, R5, R8]
    ids = tuple(r["id"] for r in window)

    frequency = figures["deploymentFrequency"]
    assert frequency.value == len(window) / 7 and frequency.unit == "per day"
    assert frequency.records == ids and frequency.extra["perWeek"] == len(window)

    leads = [
        (first_ran(r) - datetime.fromisoformat(r["source"]["commitTime"])).total_seconds()
        for r in window
    ]
    assert figures["leadTime"].value == statistics.median(leads)
    assert first_ran(R1) == datetime.fromisoformat(R1["finishedAt"]) + timedelta(minutes=10)

    failed = {"a3", "a4", "a8"}
    assert figures["changeFailureRate"].value == len(failed) / len(window)
    assert set(figures["changeFailureRate"].records) == failed

    # a3 and a4 recover at a5 (a4 failed too); a8 has no later deployment in its ring.
    recoveries = [(first_ran(R5) - first_ran(r)).total_seconds() for r in (R3, R4)]
    assert figures["recoveryTime"].value == statistics.median(recoveries)
    assert figures["recoveryTime"].records == ("a3", "a4")

    rework = {"a4", "a5"}  # marked hotfix; a rollback by digest
    assert figures["reworkRate"].value == len(rework) / len(window)
    assert set(figures["reworkRate"].records) == rework

    for key, figure in figures.items():
        data = figure.to_data()
        assert data["definition"] == DEFINITIONS[key] and data["name"] == figure.name


def test_an_empty_window_has_no_figures_but_keeps_definitions() -> None:
    since = T0 + 20 * DAY
    figures = dora(RECORDS, EVENTS, MARKS, since, since + DAY)
    assert [f.value for f in figures] == [0.0, None, None, None, None]
    assert all(f.records == () and f.definition for f in figures)


def test_a_marked_rollback_fails_the_deployment_before_it() -> None:
    history = [R1, R3, R4]
    assert failures(history, [], [Mark("a4", "rollback")]) == {"a3"}
    assert failures(history, [], []) == set()


def test_the_dora_view_of_records_gives_the_same_figures() -> None:
    since, until = T0, T0 + 7 * DAY
    whole = dora(RECORDS, EVENTS, MARKS, since, until)
    assert dora([dora_view(r) for r in RECORDS], EVENTS, MARKS, since, until) == whole
    view = dora_view(R1)
    assert set(view) == {path.split(".")[0] for path in DORA_FIELDS}
    assert "images" not in view and view["output"] == {"digest": "sha256:B", "changed": None}


def test_lead_time_counts_only_a_known_source_commit_before_the_change_ran() -> None:
    known = record("b1", T0 + DAY, "X")
    no_source = record("b2", T0 + 2 * DAY, "Y")
    no_source["source"]["commitTime"] = None  # the HLD commit time is no stand-in
    future = record("b3", T0 + 3 * DAY, "Z", source_age=-timedelta(hours=5))  # a wrong clock
    figures = {f.key: f for f in dora([known, no_source, future], [], [], T0, T0 + 7 * DAY)}
    lead = figures["leadTime"]
    ran = datetime.fromisoformat(known["finishedAt"])
    assert lead.value == (ran - datetime.fromisoformat(known["source"]["commitTime"])).seconds
    assert lead.records == ("b1",) and lead.extra == {"unknown": 2}
    assert "source commit" in lead.definition and "HLD" not in lead.definition

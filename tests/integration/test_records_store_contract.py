"""The store contract every backend keeps: record queries, latest, events, marks, prune, changes.

Each test runs on every store kind (``store_url``: SQLite, PostgreSQL, Azurite, memory).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fabrikate.records import Store, open_store
from fabrikate.records.events import ClusterEvent, Mark
from fabrikate.records.overview import glance
from fabrikate.records.stores.base import RecordQuery, view
from fabrikate.records.stores.dora import DORA_FIELDS, dora_row, landings


def _record(
    started: str = "2025-01-01T00:00:00+00:00",
    *,
    scope: str = "hld",
    env: str = "prod",
    outcome: str = "succeeded",
    ident: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    ident = ident or str(uuid.uuid4())
    return {
        "schema": "fabrikate.deployment-record/v2",
        "id": ident,
        "rowKey": ident.replace("-", "")[:12],
        "scope": scope,
        "environment": env,
        "startedAt": started,
        "outcome": outcome,
        "ci": {"provider": "local", "validationOnly": False},
        **extra,
    }


def _day(n: int) -> str:
    return f"2025-01-{n:02d}T00:00:00+00:00"


def _event(at: str, **values: Any) -> ClusterEvent:
    fields: dict[str, Any] = {
        "source": "flux",
        "cluster": "east",
        "ring": None,
        "environment": "prod",
        "kind": "Kustomization",
        "namespace": "flux-system",
        "name": "apps",
        "revision": "a" * 40,
        "state": "applied",
        "reason": None,
        "message": None,
        "at": at,
    }
    return ClusterEvent.make(**{**fields, **values})


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    assert opened is not None
    with opened:
        yield opened


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in records]


@pytest.fixture
def varied(store: Store) -> dict[str, dict[str, Any]]:
    """Records that differ in every filtered fact, added out of order."""
    records = {
        "pipeline": _record(
            _day(3),
            ring="canary",
            service="api",
            ci={"provider": "github", "reason": "push", "validationOnly": False},
            hld={"commit": "ABCDEF0123" + "0" * 30, "commitAuthor": "Ada Lovelace"},
            source={"commit": "5" * 40},
            images=[{"image": "registry.io/team/api:1.2.3"}],
            components=[{"name": "api"}, {"name": "cache"}],
            note="Zebra crossing",
        ),
        "pr": _record(
            _day(2),
            ring="canary",
            ci={"provider": "azdo", "reason": "PullRequest", "validationOnly": True},
            hld={"commit": "b" * 40, "mergedBy": "Grace Hopper"},
            components=[{"name": "api"}],
        ),
        "manual": _record(
            _day(1),
            env="staging",
            outcome="failed",
            manifest={"commit": "c" * 40},
            components=[{"name": "web"}],
            images=[{"image": "docker.io/library/nginx:1.27"}],
        ),
        "other": _record(_day(4), scope="other", ring="main", service="web"),
    }
    for name in ("manual", "other", "pipeline", "pr"):
        store.add(records[name])
    return records


@pytest.mark.parametrize(
    ("query", "names"),
    [
        (RecordQuery(), ["other", "pipeline", "pr", "manual"]),
        (RecordQuery(scope="hld"), ["pipeline", "pr", "manual"]),
        (RecordQuery(environment="staging"), ["manual"]),
        (RecordQuery(ring="canary"), ["pipeline", "pr"]),
        (RecordQuery(service="api"), ["pipeline", "pr"]),  # pr: no service, an api component
        (RecordQuery(service="web"), ["other", "manual"]),
        (RecordQuery(service="cache"), []),  # the record's service wins over its components
        (RecordQuery(outcome="failed"), ["manual"]),
        (RecordQuery(author="lovelace"), ["pipeline"]),
        (RecordQuery(author="GRACE"), ["pr"]),
        (RecordQuery(kind="pipeline"), ["pipeline"]),
        (RecordQuery(kind="pr"), ["pr"]),
        (RecordQuery(kind="manual"), ["other", "manual"]),
        (RecordQuery(since=_day(2)), ["other", "pipeline", "pr"]),
        (RecordQuery(until=_day(2)), ["manual"]),
        (RecordQuery(since=_day(2), until=_day(4)), ["pipeline", "pr"]),
        (RecordQuery(commit="abcdef"), ["pipeline"]),
        (RecordQuery(commit="5555"), ["pipeline"]),
        (RecordQuery(commit="ccc"), ["manual"]),
        (RecordQuery(commit="abcdf"), []),
        (RecordQuery(manifest_commit="c" * 40), ["manual"]),
        (RecordQuery(manifest_commit="c" * 39), []),
        (RecordQuery(image="team/api"), ["pipeline"]),
        (RecordQuery(image="nginx"), ["manual"]),
        (RecordQuery(component="api"), ["pipeline", "pr"]),
        (RecordQuery(component="ap"), []),
        (RecordQuery(keyword="zebra"), ["pipeline"]),
        (RecordQuery(keyword="GRACE hop"), ["pr"]),
        (RecordQuery(scope="hld", ring="canary", kind="pipeline"), ["pipeline"]),
        (RecordQuery(scope="other", ring="canary"), []),
        (RecordQuery(limit=2), ["other", "pipeline"]),
    ],
)
def test_query_filters(
    store: Store, varied: dict[str, dict[str, Any]], query: RecordQuery, names: list[str]
) -> None:
    assert _ids(store.query(query)) == [varied[name]["id"] for name in names]


def test_query_returns_whole_records(store: Store, varied: dict[str, dict[str, Any]]) -> None:
    (found,) = store.query(RecordQuery(keyword="zebra"))
    assert found == varied["pipeline"]


def test_keyset_pages_walk_every_record_once_in_order(store: Store) -> None:
    records = [_record(_day(1 + i // 3)) for i in range(8)]  # ties on startedAt
    for record in records:
        store.add(record)
    expected = _ids(sorted(records, key=lambda r: (r["startedAt"], r["id"]), reverse=True))
    seen: list[str] = []
    before = None
    while page := store.query(RecordQuery(before=before, limit=3)):
        seen += _ids(page)
        before = (page[-1]["startedAt"], page[-1]["id"])
    assert seen == expected
    assert _ids(store.query(RecordQuery())) == expected
    assert _ids(store.records(limit=2)) == expected[:2]


def test_latest_is_the_newest_succeeded_non_pr_record_per_key(store: Store) -> None:
    old = _record(_day(1), ring="canary", service="api")
    new = _record(_day(3), ring="canary", service="api")
    failed = _record(_day(5), ring="canary", service="api", outcome="failed")
    pr = _record(_day(6), ring="canary", service="api", ci={"validationOnly": True})
    main = _record(_day(2), ring="main", service="api")
    bare = _record(_day(4), env="dev")  # no service, no ring
    elsewhere = _record(_day(1), scope="other", ring="canary", service="api")
    for record in (new, old, failed, pr, main, bare, elsewhere):
        store.add(record)
    assert _ids(store.latest()) == _ids([bare, new, main, elsewhere])
    assert _ids(store.latest(scope="hld")) == _ids([bare, new, main])
    assert _ids(store.latest(ring="canary")) == _ids([new, elsewhere])
    assert _ids(store.latest(scope="hld", environment="prod", ring="main")) == _ids([main])
    assert store.latest(environment="nowhere") == []
    assert store.latest(environment="dev") == [glance(bare)]  # what the dashboard reads
    newer = _record(_day(7), ring="canary", service="api")
    store.add(newer)
    assert _ids(store.latest(scope="hld", ring="canary")) == _ids([newer])


def test_events_are_idempotent_filtered_and_newest_first(store: Store) -> None:
    first = _event(_day(1))
    second = _event(_day(2), state="healthy")
    west = _event(_day(3), cluster="west", revision="d" * 40)
    assert store.add_event(first) is True
    assert store.add_event(first) is False
    assert store.add_events([first, second, west, second]) == 2
    assert store.events() == [west, second, first]
    assert store.events(cluster="east") == [second, first]
    assert store.events(revision="D" * 40) == [west]
    assert store.events(since=_day(2)) == [west, second]
    assert store.events(before=_day(3)) == [second, first]
    assert store.events(before=(second.at, second.id)) == [first]
    assert store.events(limit=1) == [west]


def test_latest_events_and_clusters(store: Store) -> None:
    old = _event(_day(1))
    new = _event(_day(2), state="failed")
    other_object = _event(_day(1), kind="HelmRelease", name="api", namespace="apps")
    west = _event(_day(3), cluster="west")
    nameless = _event(_day(4), cluster=None)
    store.add_events([new, old, other_object, west, nameless])
    assert store.latest_events(cluster="east") == [new, other_object]
    assert store.latest_events() == [nameless, west, new, other_object]
    assert store.clusters() == {"east": _day(2), "west": _day(3)}


def test_marks(store: Store, varied: dict[str, dict[str, Any]]) -> None:
    pipeline, pr = varied["pipeline"]["id"], varied["pr"]["id"]
    store.add_mark(Mark(pipeline, "failed", "broke checkout", "ada", _day(5)))
    store.add_mark(Mark(pr, "hotfix", "", None, _day(6)))
    store.add_mark(Mark(pipeline, "rollback", "back to 1.2.2"))
    marks = store.marks()
    assert [(m.record_id, m.kind) for m in marks] == [
        (pipeline, "failed"),
        (pr, "hotfix"),
        (pipeline, "rollback"),
    ]
    assert marks[0] == Mark(pipeline, "failed", "broke checkout", "ada", _day(5))
    assert marks[2].at and marks[2].at > _day(6)  # stamped now
    assert [m.kind for m in store.marks([pr])] == ["hotfix"]
    assert store.marks([]) == []


def test_prune_keeps_the_latest_per_environment(store: Store) -> None:
    old_ok = _record(_day(1), service="api")
    old_failed = _record(_day(2), service="api", outcome="failed")  # newest of prod
    staging = _record(_day(1), env="staging")
    recent = _record(_day(9), env="dev")
    for record in (old_ok, old_failed, staging, recent):
        store.add(record)
    store.add_mark(Mark(old_failed["id"], "failed", "x", None, _day(3)))
    assert store.prune(before=_day(5), keep_latest_per_environment=True) == []
    store.add(newer := _record(_day(4), service="api"))
    planned = store.prune(before=_day(5), keep_latest_per_environment=True, dry_run=True)
    assert planned == [old_failed["id"], old_ok["id"]]
    assert len(store.query(RecordQuery())) == 5  # a dry run removes nothing
    assert store.prune(before=_day(5), keep_latest_per_environment=True) == planned
    assert _ids(store.query(RecordQuery())) == _ids([recent, newer, staging])
    assert store.marks() == []
    assert _ids(store.latest()) == _ids([recent, newer, staging])


def test_prune_everything_old_also_drops_latest_rows(store: Store) -> None:
    old, recent = _record(_day(1), service="api"), _record(_day(9), env="dev")
    store.add(old)
    store.add(recent)
    store.add_mark(Mark(recent["id"], "hotfix", "", None, _day(9)))
    assert store.prune(before=_day(5), keep_latest_per_environment=False) == [old["id"]]
    assert _ids(store.query(RecordQuery())) == [recent["id"]]
    assert _ids(store.latest()) == [recent["id"]]
    assert [m.record_id for m in store.marks()] == [recent["id"]]


def test_change_count_grows_on_every_write(store: Store) -> None:
    counts = [store.change_count()]
    store.add(record := _record())
    counts.append(store.change_count())
    store.add_event(event := _event(_day(1)))
    counts.append(store.change_count())
    store.add_event(event)  # not new: no change
    counts.append(store.change_count())
    store.add_mark(Mark(record["id"], "failed"))
    counts.append(store.change_count())
    store.prune(before=_day(9), keep_latest_per_environment=False)
    counts.append(store.change_count())
    assert counts[0] < counts[1] < counts[2] == counts[3] < counts[4] < counts[5]
    assert store.wait_for_change(counts[4], timeout=0) == counts[5]
    assert store.wait_for_change(counts[5], timeout=0) == counts[5]


def test_wait_for_change_returns_when_another_store_writes(store: Store, store_url: str) -> None:
    start = store.change_count()
    ready = threading.Event()

    def write() -> None:
        with open_store(store_url) as other:  # type: ignore[union-attr]
            ready.wait()
            other.add(_record())

    writer = threading.Thread(target=write)
    writer.start()
    ready.set()
    try:
        assert store.wait_for_change(start, timeout=120) > start
    finally:
        writer.join()


def test_add_events_in_bulk_counts_only_the_new_ones(store: Store) -> None:
    batch = [_event(_day(1 + n % 28), cluster=f"c{n % 2}", name=f"app-{n}") for n in range(250)]
    assert store.add_events(batch[:10]) == 10
    assert store.add_events(batch + batch[:5]) == 240  # groups of 100 with stored ones among them
    assert len(store.events(cluster="c0")) == len(store.events(cluster="c1")) == 125
    assert len(store.latest_events()) == 250
    assert store.add_events([]) == 0


def test_threads_sharing_a_store_all_wake_on_one_write(store: Store, store_url: str) -> None:
    start = store.change_count()
    seen: list[int] = []
    waiters = [
        threading.Thread(target=lambda: seen.append(store.wait_for_change(start, timeout=120)))
        for _ in range(3)
    ]
    for waiter in waiters:
        waiter.start()
    with open_store(store_url) as other:  # type: ignore[union-attr]
        other.add(_record())
    for waiter in waiters:
        waiter.join()
    assert len(seen) == 3 and min(seen) > start


def test_threads_sharing_a_store_write_without_losing_anything(store: Store) -> None:
    def write(n: int) -> None:
        for i in range(10):
            store.add(_record(_day(1 + i)))
            store.add_events([_event(_day(1 + i), name=f"t{n}-{i}")])

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert len(store.query(RecordQuery())) == 40
    assert len(store.events()) == 40


def test_events_of_many_revisions_in_one_call(store: Store) -> None:
    events = [_event(_day(n), revision=f"{n:040x}") for n in range(1, 6)]
    store.add_events(events)
    wanted = [f"{n:040x}".upper() for n in (2, 4, 5)]
    assert store.events(revisions=wanted) == [events[4], events[3], events[1]]
    assert store.events(revisions=wanted, limit=2) == [events[4], events[3]]
    assert store.events(revisions=wanted, since=_day(3), cluster="east") == events[4:2:-1]
    assert store.events(revisions=[]) == []
    many = [f"{n:040x}" for n in range(4, 530)]  # more than one statement's worth
    assert store.events(revisions=many) == [events[4], events[3]]


VIEW_PATHS = ("id", "ring", "service", "ci.validationOnly", "output.changed", "hld.commitTime")


def test_views_are_the_named_fields_of_the_records_a_query_matches(
    store: Store, varied: dict[str, dict[str, Any]]
) -> None:
    store.add(_record(_day(5), ring="dev", output={"changed": False, "digest": "sha256:1"}))
    query = RecordQuery(scope="hld", limit=3)
    records = store.query(query)
    views = store.views(query, VIEW_PATHS)
    assert views == [view(record, VIEW_PATHS) for record in records]
    assert views[0]["output"] == {"changed": False}  # a boolean stays a boolean
    assert views[0]["hld"] is None  # no object there
    assert views[1]["ci"] == {"validationOnly": False}
    assert views[1]["service"] == "api" and views[1]["hld"] == {"commitTime": None}


def test_dora_rows_carry_the_landing_of_every_event_about_the_manifest_commit(
    store: Store,
) -> None:
    before = _record(_day(1), manifest={"commit": "B" * 40})  # its events come first
    mine = _record(_day(2), manifest={"commit": "a" * 40}, output={"digest": "d1"})
    other = _record(_day(3), env="dev", manifest={"commit": "b" * 40}, finishedAt=_day(4))
    short = _record(_day(4), manifest={"commit": "aaaaaa"})  # too short to name a revision
    store.add_events([_event(_day(3), revision="b" * 40, cluster="west", state="failed")])
    store.add_all([before, mine, other, short])
    early, late = _event(_day(1)), _event(_day(3), state="healthy")
    store.add_events([late, _event(_day(5), state="failed")])
    store.add_events([early, late])  # again, and an earlier one: the landing moves back
    rows = {row.id: row for row in store.dora_rows(RecordQuery())}
    assert list(rows) == _ids([short, other, mine, before])
    assert (rows[mine["id"]].landed_at, rows[mine["id"]].event_failed) == (_day(1), True)
    assert (rows[before["id"]].landed_at, rows[before["id"]].event_failed) == (None, True)
    assert rows[other["id"]] == rows[before["id"]]._replace(
        id=other["id"], environment="dev", started_at=_day(3), finished_at=_day(4)
    )
    assert (rows[short["id"]].landed_at, rows[short["id"]].event_failed) == (None, False)
    assert rows[mine["id"]].digest == "d1" and not rows[mine["id"]].unchanged
    landed = landings(store.events())
    expected = [dora_row(view(r, DORA_FIELDS), landed) for r in (other, before)]
    assert store.dora_rows(RecordQuery(since=_day(1), until=_day(4), kind="manual", limit=2)) == [
        expected[0],
        rows[mine["id"]],
    ]
    assert store.dora_rows(RecordQuery(environment="dev")) == expected[:1]
    assert store.dora_rows(RecordQuery(environment="nowhere")) == []


def test_add_all_stores_what_add_stores(store: Store) -> None:
    records = [_record(_day(1 + i % 3), ring="canary", service="api") for i in range(5)]
    store.add_all(records)
    store.add_all([])
    ordered = sorted(records, key=lambda r: (r["startedAt"], r["id"]), reverse=True)
    assert store.query(RecordQuery()) == ordered
    assert store.latest() == [glance(ordered[0])]

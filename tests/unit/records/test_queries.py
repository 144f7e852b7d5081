"""The query layer over a hand-built memory store: pages, one deployment, compare, history,
rings, clusters, metrics and health."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from fabrikate.errors import InputError, NotFound
from fabrikate.records.events import Mark
from fabrikate.records.filters import Filters, read_cursor
from fabrikate.records.queries import (
    CLI_SPELLING,
    cluster,
    compare,
    deployment,
    deployments,
    environment_history,
    health,
    metrics,
    ring,
)
from fabrikate.records.stores.base import Store
from tests.fixtures.record_data import T0, event_for, make_record, uid

H = timedelta(hours=1)
RINGS = {"declared": ("main", "canary"), "default": "main"}


@pytest.fixture
def history(new_store: Callable[[], Store]) -> Iterator[tuple[Store, list[dict]]]:
    """api in prod/main: 12 generations an hour apart, every third one unchanged."""
    store = new_store()
    made = []
    for n in range(12):
        unchanged = n % 3 == 2
        tag = f"1.{n - 1 if unchanged else n}.0"
        rec = make_record(f"h{n}", service="api", tag=tag, at=T0 + n * H, changed=not unchanged)
        made.append(rec)
        store.add(rec)
    yield store, made[::-1]  # newest first


def test_pages_follow_the_cursor_and_collapse_unchanged_runs(history: tuple) -> None:
    store, newest_first = history
    shown = [r["id"] for r in newest_first if r["output"]["changed"]]
    first = deployments(store, Filters(), limit=3)
    assert [i["id"] for i in first.items] == shown[:3]
    assert first.next is not None and read_cursor(first.next)[1] == shown[2]
    second = deployments(store, Filters(), cursor=first.next, limit=3)
    assert [i["id"] for i in second.items] == shown[3:6]
    last = deployments(store, Filters(), cursor=second.next, limit=3)
    assert [i["id"] for i in last.items] == shown[6:] and last.next is None
    counted = sum(p.to_data()["collapsed"] for p in (first, second, last))
    assert counted >= 4  # the four unchanged runs (a page may count one again)


def test_all_runs_with_collapse_off(history: tuple) -> None:
    store, newest_first = history
    page = deployments(store, Filters(), limit=50, collapse=False)
    assert [i["id"] for i in page.items] == [r["id"] for r in newest_first]
    assert page.next is None and "collapsed" not in page.to_data()
    assert [i["unchanged"] for i in page.items].count(True) == 4


def test_filters_reach_the_store_and_bad_pages_are_refused(history: tuple) -> None:
    store, newest_first = history
    page = deployments(store, Filters(image="api:1.4.0"), collapse=False)
    assert [i["id"] for i in page.items] == [newest_first[6]["id"], newest_first[7]["id"]]
    assert deployments(store, Filters(environment="dev")).items == []
    with pytest.raises(InputError, match="limit 0"):
        deployments(store, Filters(), limit=0)
    with pytest.raises(InputError, match="bad cursor"):
        deployments(store, Filters(), cursor="nope")


def test_a_cluster_filter_keeps_the_records_it_reported(history: tuple) -> None:
    store, newest_first = history
    store.add_events([event_for(newest_first[2], "healthy", cluster="east")])
    page = deployments(store, Filters(cluster="east"))
    assert [i["id"] for i in page.items] == [newest_first[2]["id"]]
    assert page.items[0]["syncedClusters"] == ["east"]


def test_one_deployment_in_full(new_store: Callable[[], Store]) -> None:
    store = new_store()
    old = make_record("a", service="api", tag="1.0.0", at=T0)
    new = make_record("b", service="api", tag="1.1.0", at=T0 + H)
    store.add(old)
    store.add(new)
    store.add_events([event_for(new, "applied"), event_for(new, "failed", after=2 * H)])
    store.add_mark(Mark(new["id"], "failed", "broke checkout", by="ann", at=T0.isoformat()))
    answer = deployment(store, new["rowKey"])
    assert answer["record"]["id"] == new["id"]
    assert answer["summary"]["state"] == "failed"
    assert answer["failing"]["name"] == "healthy" and answer["failing"]["cluster"] == "east"
    assert [s["name"] for s in answer["journey"]][:5] == [
        "source",
        "image",
        "pull-request",
        "generated",
        "manifest",
    ]
    assert len(answer["events"]) == 2
    assert answer["marks"] == [
        {
            "recordId": new["id"],
            "kind": "failed",
            "note": "broke checkout",
            "by": "ann",
            "at": T0.isoformat(),
        }
    ]
    assert answer["leadTimeSeconds"] == (2 * H + timedelta(minutes=6)).total_seconds()
    assert f"git checkout {new['hld']['commit']}" in answer["reproduce"]
    assert answer["changes"]["previous"] == old["id"]
    assert answer["changes"]["images"][0]["b"] == "acr.example.com/api:1.1.0"
    with pytest.raises(InputError, match="bad record id"):
        deployment(store, "not an id!")


@pytest.fixture
def rings(new_store: Callable[[], Store]) -> Store:
    """Two services in two rings and two environments."""
    store = new_store()
    for label, service, ring_name, env, tag, hours in (
        ("a-main", "api", "main", "prod", "1.0.0", 0),
        ("a-canary", "api", "canary", "prod", "1.1.0", 1),
        ("w-main", "web", "main", "prod", "2.0.0", 0),
        ("w-canary", "web", "canary", "prod", "2.0.0", 1),
        ("a-dev", "api", "main", "dev", "1.2.0", 2),
        ("old", "api", "retired", "prod", "0.9.0", -5),
    ):
        store.add(
            make_record(
                label,
                service=service,
                ring=ring_name,
                environment=env,
                tag=tag,
                at=T0 + hours * H,
                **RINGS,
            )
        )
    return store


def test_compare_two_records_by_id(rings: Store) -> None:
    a, b = (make_record(x, service="api", ring="main", tag="1.0.0") for x in ("a-main", "a-canary"))
    answer = compare(rings, a["id"], b["id"][:8])
    assert (answer["a"]["kind"], answer["b"]["kind"]) == ("record", "record")
    assert answer["a"]["ring"] == "main" and answer["b"]["ring"] == "canary"
    assert [i["b"] for i in answer["images"]] == ["acr.example.com/api:1.1.0"]
    assert answer["objects"]["changed"][0]["b"]["kind"] == "Deployment"
    assert answer["rollback"] is None


def test_compare_two_rings_of_one_service_and_two_environments(rings: Store) -> None:
    answer = compare(rings, "ring:main", "canary", service="api")
    assert answer["a"]["kind"] == "ring" and answer["b"]["kind"] == "ring"
    assert [i["a"] for i in answer["images"]] == ["acr.example.com/api:1.0.0"]
    with pytest.raises(InputError, match="name one with service="):
        compare(rings, "ring:main", "ring:canary")  # api and web both
    promotion = compare(rings, "env:dev", "env:prod", service="api")
    assert promotion["a"]["environment"] == "dev" and promotion["b"]["ring"] == "main"
    with pytest.raises(NotFound, match="no record, environment or ring 'nowhere'"):
        compare(rings, "nowhere", "prod")
    with pytest.raises(NotFound, match="no environment 'qa'"):
        compare(rings, "env:qa", "prod")


def _named(store: Store, *plan: tuple[str, str, str, str]) -> Store:
    """Records of api by (label, environment, ring, tag)."""
    for n, (label, env, ring_name, tag) in enumerate(plan):
        store.add(
            make_record(
                label, service="api", environment=env, ring=ring_name, tag=tag, at=T0 + n * H
            )
        )
    return store


def test_compare_pairs_a_name_that_is_an_environment_and_a_ring(
    new_store: Callable[[], Store],
) -> None:
    # prod is an environment and a ring of it; canary only a ring: two rings are meant.
    store = _named(new_store(), ("p", "prod", "prod", "1.0"), ("c", "prod", "canary", "1.1"))
    answer = compare(store, "prod", "canary")
    assert (answer["a"]["kind"], answer["b"]["kind"]) == ("ring", "ring")
    assert (answer["a"]["ring"], answer["b"]["ring"]) == ("prod", "canary")
    assert [(i["a"], i["b"]) for i in answer["images"]] == [
        ("acr.example.com/api:1.0", "acr.example.com/api:1.1")
    ]
    # A forced kind is kept, though its sides do not pair (prod's rings are both candidates).
    with pytest.raises(InputError, match="share 2 services or rings"):
        compare(store, "env:prod", "canary")


def test_compare_names_both_spellings_when_two_readings_pair(
    new_store: Callable[[], Store],
) -> None:
    # prod and canary are each an environment and a ring: both readings pair, so say which.
    store = _named(new_store(), ("a", "prod", "canary", "1.0"), ("b", "canary", "prod", "1.1"))
    with pytest.raises(InputError) as url:
        compare(store, "prod", "canary")
    assert str(url.value) == (
        "'prod' and 'canary' name both environments and rings: "
        "say which, a=env:prod&b=env:canary or a=ring:prod&b=ring:canary"
    )
    with pytest.raises(InputError, match="say which, env:prod env:canary or ring:prod ring:canary"):
        compare(store, "prod", "canary", spelling=CLI_SPELLING)
    assert compare(store, "ring:prod", "ring:canary")["a"]["recordId"] == uid("b")


def test_compare_asks_for_the_service_in_the_callers_spelling(rings: Store) -> None:
    with pytest.raises(InputError, match="name one with --service NAME$"):
        compare(rings, "ring:main", "ring:canary", spelling=CLI_SPELLING)
    with pytest.raises(NotFound, match="no ring 'gone'"):
        compare(rings, "ring:gone", "main")


def test_compare_sees_a_rollback(new_store: Callable[[], Store]) -> None:
    store = new_store()
    for n, tag in enumerate(("1.0", "1.1", "1.0")):
        store.add(make_record(f"r{n}", service="api", tag=tag, at=T0 + n * H))
    latest = make_record("r2", service="api", tag="1.0")
    answer = compare(store, make_record("r1", service="api")["id"], latest["id"])
    assert answer["rollback"]["recordId"] == make_record("r0")["id"]
    assert answer["sameOutput"] is False


def test_environment_history_says_what_changed(history: tuple) -> None:
    store, newest_first = history
    page = environment_history(store, "prod", limit=4)
    assert [i["id"] for i in page.items] == [r["id"] for r in newest_first[:4]]
    assert page.items[0]["changes"]["previous"] == newest_first[1]["id"]
    assert page.items[0]["changes"]["sameOutput"] is True  # an unchanged run
    assert page.items[1]["changes"]["images"][0]["a"] == "acr.example.com/api:1.9.0"
    rest = environment_history(store, "prod", cursor=page.next, limit=50)
    assert rest.items[-1]["changes"] is None and rest.next is None
    with pytest.raises(NotFound):
        environment_history(store, "qa")


def test_a_ring_against_the_default_ring_and_leftovers(rings: Store) -> None:
    answer = ring(rings, "canary")
    assert answer["branch"] == "canary" and answer["default"] is False
    assert answer["defaultRing"] == "main"
    assert answer["routeCheck"] == 'curl -sS -H "Ring: canary" "$HOST/"'
    listed = {s["service"]: s for s in answer["services"]}
    assert listed["api"]["version"] == "1.1.0" and listed["api"]["defaultVersion"] == "1.0.0"
    assert listed["api"]["sameAsDefault"] is False and listed["web"]["sameAsDefault"] is True
    assert [(d["kind"], d["b"]) for d in listed["api"]["differences"]] == [
        ("image", "acr.example.com/api:1.1.0")
    ]
    assert listed["web"]["differences"] == []
    assert listed["api"]["state"] == "committed" and listed["api"]["clusters"] == {}
    assert answer["leftovers"] == ["retired"]
    assert ring(rings, "main")["default"] is True
    with pytest.raises(NotFound, match="no ring 'gold'"):
        ring(rings, "gold")


def test_a_cluster_page(history: tuple) -> None:
    store, newest_first = history
    rec = newest_first[0]
    store.add_events(
        [
            event_for(rec, "healthy", cluster="east"),
            event_for(rec, "failed", cluster="east", name="db"),
            event_for(newest_first[5], "applied", cluster="west"),
        ]
    )
    answer = cluster(store, "east")
    assert answer["revision"] == rec["manifest"]["commit"]
    assert answer["record"]["id"] == rec["id"]
    assert [o["name"] for o in answer["objects"]] == ["apps", "db"]
    assert answer["health"]["state"] == "failed" and len(answer["health"]["failing"]) == 1
    assert cluster(store, "west")["record"]["id"] == newest_first[5]["id"]
    with pytest.raises(NotFound, match="no events from cluster 'north'"):
        cluster(store, "north")


def test_a_cluster_page_flags_stale_health(history: tuple) -> None:
    store, newest_first = history
    running, old = newest_first[1], newest_first[4]
    store.add_events(
        [
            event_for(old, "healthy", cluster="east", name="db"),  # db never took the new one
            event_for(running, "healthy", cluster="east"),
        ]
    )
    health = cluster(store, "east")["health"]
    assert health["state"] == "healthy" and health["stale"] is True
    assert health["staleObjects"] == ["Kustomization db"]
    assert health["newerRecord"]["id"] == newest_first[0]["id"]  # not applied yet
    objects = {o["name"]: o["stale"] for o in cluster(store, "east")["objects"]}
    assert objects == {"apps": False, "db": True}
    store.add_events(
        [
            event_for(newest_first[0], "healthy", cluster="east", name=name, after=2 * H)
            for name in ("apps", "db")
        ]
    )
    health = cluster(store, "east")["health"]
    assert health["stale"] is False and health["staleObjects"] == []
    assert health["newerRecord"] is None


def test_metrics_per_group_with_definitions(rings: Store) -> None:
    window = Filters(since=(T0 - H).isoformat(), until=(T0 + 3 * H).isoformat())
    answer = metrics(rings, window, by=("environment", "ring", "service"))
    keys = [(g["environment"], g["ring"], g["service"]) for g in answer["groups"]]
    assert ("prod", "canary", "api") in keys and ("prod", "retired", "api") in keys
    group = answer["groups"][keys.index(("prod", "main", "api"))]
    figures = {f["key"]: f for f in group["figures"]}
    assert figures["deploymentFrequency"]["count"] == 1
    assert figures["deploymentFrequency"]["records"] == [make_record("a-main")["id"]]
    assert figures["leadTime"]["definition"].startswith("Median")
    retired = answer["groups"][keys.index(("prod", "retired", "api"))]
    assert retired["figures"][0]["count"] == 0  # before the window: history only


def test_metrics_group_by_environment_and_ring_unless_told(rings: Store) -> None:
    window = Filters(since=(T0 - H).isoformat(), until=(T0 + 3 * H).isoformat())
    answer = metrics(rings, window)
    assert answer["by"] == ["environment", "ring"]
    keys = [(g["environment"], g["ring"], g["service"]) for g in answer["groups"]]
    assert keys == [
        ("dev", "main", None),
        ("prod", "canary", None),
        ("prod", "main", None),
        ("prod", "retired", None),
    ]
    main = {f["key"]: f for f in answer["groups"][2]["figures"]}
    assert main["deploymentFrequency"]["count"] == 2  # api and web, each its own history
    one = metrics(rings, Filters(service="web", since=window.since, until=window.until))
    assert [(g["ring"], g["service"]) for g in one["groups"]] == [
        ("canary", "web"),
        ("main", "web"),
    ]
    with pytest.raises(InputError, match="window 'forever'"):
        metrics(rings, Filters(), window="forever")
    with pytest.raises(InputError, match="group by 'colour'"):
        metrics(rings, window, by=("colour",))


def test_health(history: tuple, new_store: Callable[[], Store]) -> None:
    store, newest_first = history
    store.add_events([event_for(newest_first[0], "healthy", cluster="east")])
    answer = health(store)
    assert answer["ok"] is True and answer["lastRecord"]["id"] == newest_first[0]["id"]
    assert list(answer["clusters"]) == ["east"]
    assert health(new_store()) == {"ok": True, "lastRecord": None, "clusters": {}}


def test_compare_names_a_component_of_a_tree_as_its_service(
    new_store: Callable[[], Store],
) -> None:
    store = new_store()
    main = make_record("t-main", ring="main", tag="1.0", at=T0, **RINGS)  # no service: a tree
    canary = make_record("t-canary", ring="canary", tag="1.1", at=T0 + H, **RINGS)
    pr = make_record("t-pr", ring="canary", tag="9.9", at=T0 + 2 * H, reason="pull_request")
    for record in (main, canary, pr):
        store.add(record)
    answer = compare(store, "ring:main", "ring:canary", service="api")
    assert (answer["a"]["recordId"], answer["b"]["recordId"]) == (main["id"], canary["id"])
    with pytest.raises(NotFound, match="ring 'canary' with service 'db'"):
        compare(store, main["id"], "ring:canary", service="db")

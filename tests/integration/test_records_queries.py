"""The query layer on every store kind (SQLite, PostgreSQL, Azure Table, memory): the same
history gives the same answers."""

from __future__ import annotations

from datetime import timedelta

from fabrikate.records.events import Mark
from fabrikate.records.filters import Filters
from fabrikate.records.queries import (
    cluster,
    compare,
    deployment,
    deployments,
    environment_history,
    health,
    matrix,
    metrics,
    ring,
)
from fabrikate.records.stores import open_store
from tests.fixtures.record_data import T0, event_for, make_record

H = timedelta(hours=1)
RINGS = {"declared": ("main", "canary", "beta"), "default": "main"}


def _history() -> list[dict]:
    made = []
    for n in range(6):  # api in main: 1.0 .. 1.5, the fourth one unchanged
        tag = "1.2" if n == 3 else f"1.{n}"
        made.append(
            make_record(f"m{n}", service="api", tag=tag, at=T0 + n * H, changed=n != 3, **RINGS)
        )
    made.append(make_record("c0", service="api", ring="canary", tag="2.0", at=T0 + 7 * H, **RINGS))
    made.append(make_record("w0", service="web", tag="3.0", at=T0 + 2 * H, **RINGS))
    return made


def test_every_store_answers_the_queries_alike(store_url: str) -> None:
    made = _history()
    newest_main = made[5]
    store = open_store(store_url)
    assert store is not None
    with store:
        for record in made:
            store.add(record)
        store.add_events(
            [
                event_for(newest_main, "healthy", cluster="east"),
                event_for(made[4], "applied", cluster="west"),
            ]
        )
        store.add_mark(Mark(made[4]["id"], "hotfix", "config fix", at=T0.isoformat()))

        grid = matrix(store, Filters(environment="prod"))
        assert [c["key"] for c in grid["columns"]] == ["prod/main", "prod/beta", "prod/canary"]
        api = next(r["cells"] for r in grid["rows"] if r["service"] == "api")
        assert api["prod/main"]["version"] == "1.5" and api["prod/main"]["state"] == "healthy"
        assert api["prod/main"]["drift"][0]["kind"] == "clusterBehind"
        assert api["prod/canary"]["drift"][0]["kind"] == "aheadOfDefault"

        first = deployments(store, Filters(service="api"), limit=3)
        rest = deployments(store, Filters(service="api"), cursor=first.next, limit=3)
        ids = [i["id"] for i in first.items + rest.items]
        assert ids == [made[i]["id"] for i in (6, 5, 4, 2, 1, 0)] and rest.next is None

        one = deployment(store, newest_main["id"][:8])
        assert one["summary"]["syncedClusters"] == ["east"]
        assert one["changes"]["previous"] == made[4]["id"]
        assert deployment(store, made[4]["id"])["marks"][0]["kind"] == "hotfix"

        diff = compare(store, "ring:main", "ring:canary", service="api")
        assert [i["b"] for i in diff["images"]] == ["acr.example.com/api:2.0"]

        history = environment_history(store, "prod", limit=2)
        assert history.items[0]["changes"] is None  # the first canary generation
        assert history.items[1]["changes"]["previous"] == made[4]["id"]
        assert history.items[1]["syncedClusters"] == ["east"]

        canary = ring(store, "canary")
        assert canary["services"][0]["defaultVersion"] == "1.5"
        assert ring(store, "main")["services"][0]["clusters"] == {"east": "healthy"}
        assert cluster(store, "west")["record"]["id"] == made[4]["id"]

        figures = metrics(store, Filters(since=T0.isoformat(), until=(T0 + 8 * H).isoformat()))
        main = next(g for g in figures["groups"] if g["ring"] == "main")
        by_key = {f["key"]: f for f in main["figures"]}
        assert by_key["deploymentFrequency"]["count"] == 6  # api's 5 (not the unchanged), web
        assert by_key["reworkRate"]["records"] == [made[4]["id"]]

        assert health(store)["lastRecord"]["id"] == made[6]["id"]

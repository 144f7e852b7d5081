"""One ring and one cluster: what they run, against the default ring and by the events.

page = ring(store, "canary")       # branch, route check, services against the default ring
page = cluster(store, "east")      # last event per object, revision, record, health
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fabrikate.errors import NotFound
from fabrikate.records.clusters import Clusters
from fabrikate.records.overview import (
    cluster_states,
    record_state,
    service_differences,
    services,
    summary,
)
from fabrikate.records.stores.facts import order_key

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store

__all__ = ["cluster", "ring"]


def ring(store: Store, name: str) -> dict[str, Any]:
    """One ring: its branch, default flag, route check, services against the default ring's
    (``differences``: the images and chart or component versions that differ, None without a
    default ring record), and leftovers (rings deployed but no longer in the ring map)."""
    everything = store.latest()
    mine = [r for r in everything if r.get("ring") == name]
    ring_map = _ring_map(mine or everything)
    declared = ring_map.get("declared") or []
    if not mine and name not in declared:
        raise NotFound(f"no ring {name[:60]!r}")
    default = ring_map.get("default")
    base = {
        _service_key(r, i): (r, i)
        for r in everything
        if r.get("ring") == default
        for i in services(r)
    }
    clusters = Clusters.load(store, mine, None)
    listed = []
    for record in mine:
        events = clusters.about(record)
        for item in services(record):
            other = base.get(_service_key(record, item))
            found = service_differences(*other, record, item) if other else None
            listed.append(
                {
                    **item,
                    "scope": record["scope"],
                    "environment": record["environment"],
                    "recordId": record["id"],
                    "startedAt": record["startedAt"],
                    "state": record_state(record, events),
                    "clusters": cluster_states(record, events),
                    "route": f'curl -sS -H "Ring: {name}" "$HOST/{item["service"]}"',
                    "defaultVersion": other[1]["version"] if other else None,
                    "defaultRecordId": other[0]["id"] if other else None,
                    "sameAsDefault": other is not None and not found,
                    "differences": found,
                }
            )
    deployed = sorted({r.get("ring") or "" for r in everything} - {""})
    return {
        "ring": name,
        "branch": (ring_map.get("branches") or {}).get(name) or _branch(mine),
        "default": name == default,
        "defaultRing": default,
        "declared": name in declared,
        "routeCheck": f'curl -sS -H "Ring: {name}" "$HOST/"',
        "services": sorted(listed, key=lambda s: (s["scope"], s["service"], s["environment"])),
        "leftovers": [r for r in deployed if declared and r not in declared],
    }


def _service_key(record: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[str, str, str]:
    return (record["scope"], item["service"], record["environment"])


def _ring_map(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ring map of the newest record that has one."""
    with_map = [r for r in records if r.get("rings")]
    return dict(max(with_map, key=order_key)["rings"]) if with_map else {}


def _branch(records: Sequence[Mapping[str, Any]]) -> str | None:
    return (max(records, key=order_key).get("hld") or {}).get("branch") if records else None


def cluster(store: Store, name: str) -> dict[str, Any]:
    """One cluster: the last event of each object, the revision it runs, the record of that
    revision, and its health (the worst object state), stale when an object's last word is
    about another revision or from before the cluster took this one (``staleObjects``), or a
    newer record of its place waits (``newerRecord``)."""
    events = store.latest_events(cluster=name)
    if not events:
        raise NotFound(f"no events from cluster {name[:60]!r}")
    clusters = Clusters.load(store, [], name)
    newest = max((e for e in events if e.revision), key=lambda e: e.at, default=None)
    revision = newest.revision if newest else None
    record = clusters.by_commit.get(revision or "")
    states = {e.state for e in events}
    state = next((s for s in ("failed", "progressing", "applied") if s in states), "healthy")
    taken = min((e.at for e in events if revision and e.revision == revision), default=None)
    stale = [
        e
        for e in events
        if (e.revision and e.revision != revision) or (taken and not e.revision and e.at < taken)
    ]
    newer = _newer(store, record) if record else None
    return {
        "cluster": name,
        "objects": [
            {**e.to_data(), "stale": e in stale}
            for e in sorted(events, key=lambda e: (e.kind, e.namespace or "", e.name))
        ],
        "revision": revision,
        "record": summary(record, events) if record else None,
        "records": [summary(r, events) for r in clusters.running(name)],
        "health": {
            "state": state,
            "failing": [e.to_data() for e in events if e.state == "failed"],
            "stale": bool(stale or newer),
            "staleObjects": [f"{e.kind} {e.name}" for e in stale],
            "newerRecord": {"id": newer["id"], "rowKey": newer["rowKey"]} if newer else None,
        },
        "lastEventAt": max(e.at for e in events),
    }


def _newer(store: Store, record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The latest record of the record's place (scope, service, ring, environment) when it is
    newer than the record and has another manifest commit: what the cluster does not run yet."""
    commit = (record.get("manifest") or {}).get("commit")
    for found in store.latest(
        scope=record["scope"], environment=record["environment"], ring=record.get("ring")
    ):
        same_place = (found.get("service") or "") == (record.get("service") or "")
        other = (found.get("manifest") or {}).get("commit") != commit
        if same_place and other and order_key(found) > order_key(record):
            return found
    return None

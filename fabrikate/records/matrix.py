"""What runs where: services × rings within environments (or environments, or clusters).

    grid = matrix(store, Filters(environment="prod"), pivot="ring")
    for row in grid["rows"]:
        print(row["service"], {key: cell["version"] for key, cell in row["cells"].items()})

The cells come from the store's latest table (the newest succeeded record per scope, service,
ring and environment) and the clusters' latest event per object, never from a scan of the
records. A revision a cluster reports that no latest record has is looked up by its manifest
commit (``clusters.LOOKUPS`` of them at most): a cluster that runs an older record of a cell's
group with another output is behind (drift ``clusterBehind``). A ring whose record deploys
other images or chart or component versions than the default ring's record of the same service
is ahead of it (drift ``aheadOfDefault``, newer) or behind (``behindDefault``, older): its
``differences`` list them (``changes`` counts them), whether or not the versions shown differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fabrikate.errors import InputError
from fabrikate.records.clusters import Clusters, group_of
from fabrikate.records.filters import read_row_cursor, row_cursor
from fabrikate.records.overview import (
    cluster_states,
    record_state,
    service_differences,
    services,
)

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent
    from fabrikate.records.filters import Filters
    from fabrikate.records.gitinfo import Ancestry
    from fabrikate.records.stores.base import Store

__all__ = ["PIVOTS", "matrix"]

PIVOTS = ("ring", "environment", "cluster")
MAX_ROWS = 1000  # services of one matrix page


def _keep(record: Mapping[str, Any], item: Mapping[str, Any], filters: Filters) -> bool:
    """Whether a (record, service) pair passes the filters the latest table does not apply."""
    if filters.service and filters.service != item["service"]:
        return False
    if filters.component and item.get("component") != filters.component:
        names = {c.get("name") for c in record.get("components") or []}
        if filters.component not in names:
            return False
    if filters.image and filters.image not in (item.get("image") or ""):
        return False
    return not (filters.since_iso and record["startedAt"] < filters.since_iso)


def _declared(latest: Iterable[Mapping[str, Any]]) -> dict[str, tuple[list[str], str | None]]:
    """Per environment, the declared rings and the default ring of its newest ring map."""
    found: dict[str, tuple[str, tuple[list[str], str | None]]] = {}
    for record in latest:
        rings = record.get("rings")
        if not rings:
            continue
        env, at = record["environment"], record["startedAt"]
        if env not in found or found[env][0] < at:
            found[env] = (at, (list(rings.get("declared") or []), rings.get("default")))
    return {env: value for env, (_, value) in found.items()}


def _column(
    key: str, environment: Any, ring: Any, cluster: Any, default: bool, only: bool
) -> dict[str, Any]:
    return {
        "key": key,
        "environment": environment,
        "ring": ring,
        "cluster": cluster,
        "default": default,
        "declaredOnly": only,
    }


def _ring_columns(latest: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """(environment, ring) columns, the default ring first, declared rings never deployed too."""
    declared = _declared(latest)
    deployed: dict[str, set[str]] = {}
    for record in latest:
        deployed.setdefault(record["environment"], set()).add(record.get("ring") or "")
    columns = []
    for env in sorted(set(deployed) | set(declared)):
        names, default = declared.get(env, ([], None))
        rings = deployed.get(env, set()) | set(names)
        for ring in sorted(rings, key=lambda r: (r != default, r)):
            only = ring not in deployed.get(env, set())
            columns.append(_column(f"{env}/{ring}", env, ring or None, None, ring == default, only))
    return columns


def _cell(
    record: Mapping[str, Any], item: Mapping[str, Any], events: Sequence[ClusterEvent]
) -> dict[str, Any]:
    states = cluster_states(record, events) if events else {}
    # The record's state over all clusters is the worst a cluster reports (module overview).
    worst = next((s for s in ("failed", "healthy", "applied") if s in states.values()), None)
    return {
        "version": item["version"],
        "image": item["image"],
        "component": item["component"],
        "recordId": record["id"],
        "ring": record.get("ring"),
        "environment": record["environment"],
        "startedAt": record["startedAt"],
        "state": worst if worst and record.get("outcome") == "succeeded" else record_state(record),
        "clusters": states,
        "drift": [],
    }


def _supersede(cell: dict[str, Any], record: Mapping[str, Any], clusters: Clusters) -> None:
    """Clusters past the record's manifest commit run it too: ``superseded`` there (and the
    record is applied, when nothing said more)."""
    for name in clusters.superseding(record):
        cell["clusters"].setdefault(name, "superseded")
        if cell["state"] in ("committed", "generated"):
            cell["state"] = "applied"


def _ring_drift(
    service: str,
    cells: dict[str, dict[str, Any]],
    columns: Sequence[Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
) -> None:
    """Mark each ring's cell against the default ring's cell of its environment when they
    deploy anything differently (``overview.service_differences``: images, chart and component
    versions); ``changes`` counts those, ``differences`` lists them."""
    defaults = {c["environment"]: c["key"] for c in columns if c["default"]}
    for column in columns:
        cell, base_key = cells.get(column["key"]), defaults.get(column["environment"])
        base = cells.get(base_key) if base_key else None
        if cell is None or base is None or base is cell:
            continue
        found = service_differences(
            records[base["recordId"]], base, records[cell["recordId"]], {**cell, "service": service}
        )
        if not found:
            continue
        kind = "aheadOfDefault" if cell["startedAt"] > base["startedAt"] else "behindDefault"
        cell["drift"].append(
            {
                "kind": kind,
                "ring": base["ring"],
                "version": base["version"],
                "changes": len(found),
                "differences": found,
            }
        )


def _cluster_drift(
    cell: dict[str, Any],
    record: Mapping[str, Any],
    runs: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]],
) -> None:
    """Clusters that run an older record of the cell's group with another output are behind
    (``differences``: what that record deploys differently)."""
    digest = (record.get("output") or {}).get("digest")
    for name, other, item in runs:
        if other["id"] == cell["recordId"] or other["startedAt"] >= cell["startedAt"]:
            continue
        if digest is not None and (other.get("output") or {}).get("digest") == digest:
            continue  # a later run of the same output: the cluster runs what the cell shows
        cell["drift"].append(
            {
                "kind": "clusterBehind",
                "cluster": name,
                "recordId": other["id"],
                "version": item["version"],
                "differences": service_differences(record, cell, other, item),
            }
        )


def _page(
    keys: set[tuple[str, str]], limit: int | None, cursor: str | None
) -> tuple[set[tuple[str, str]], str | None]:
    """The rows (scope, service) of ``keys`` after ``cursor``, at most ``limit`` of them, and
    the cursor of the rows after them."""
    if limit is None and cursor is None:
        return keys, None
    if limit is not None and not 1 <= limit <= MAX_ROWS:
        raise InputError(f"limit {limit}: want 1 to {MAX_ROWS} rows")
    after = read_row_cursor(cursor) if cursor else None
    ordered = sorted(key for key in keys if after is None or key > after)
    more = limit is not None and len(ordered) > limit
    return set(ordered[:limit]), row_cursor(*ordered[limit - 1]) if more and limit else None


def _names(record: Mapping[str, Any]) -> list[str]:
    """The services of a record's rows (``services`` without working out their versions)."""
    return (
        [record["service"]] if record.get("service") else [i["service"] for i in services(record)]
    )


def _pairs(
    latest: Sequence[dict[str, Any]], filters: Filters, limit: int | None, cursor: str | None
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[dict[str, Any]], str | None]:
    """The (record, service) pairs of the page's rows, the records every row has (for the
    columns) and the cursor of the next page. Without a filter on the services themselves,
    only the page's records have their services worked out."""
    if filters.service or filters.component or filters.image:
        every = [(r, item) for r in latest for item in services(r) if _keep(r, item, filters)]
        shown, after = _page({(r["scope"], item["service"]) for r, item in every}, limit, cursor)
        pairs = [(r, item) for r, item in every if (r["scope"], item["service"]) in shown]
        return pairs, [r for r, _ in every], after
    since = filters.since_iso
    kept = [r for r in latest if not (since and r["startedAt"] < since)]
    names = [(r, _names(r)) for r in kept]
    shown, after = _page(
        {(r["scope"], name) for r, found in names for name in found}, limit, cursor
    )
    pairs = [
        (r, item)
        for r, found in names
        if any((r["scope"], name) in shown for name in found)
        for item in services(r)
        if (r["scope"], item["service"]) in shown
    ]
    return pairs, kept, after


def matrix(
    store: Store,
    filters: Filters,
    *,
    pivot: str = "ring",
    limit: int | None = None,
    cursor: str | None = None,
    ancestry: Ancestry | None = None,
) -> dict[str, Any]:
    """Services × columns (``pivot``: ring within environment, environment, or cluster), each
    cell the version, image, record, state and drift of what runs there; ``limit`` rows
    (services) at most, those after ``cursor`` (``next`` is the cursor of the rows after).
    With ``ancestry`` (a manifest repository clone), a cluster at a later revision that
    includes a cell's manifest commit runs it: ``superseded`` there."""
    if pivot not in PIVOTS:
        raise InputError(f"pivot {pivot[:40]!r}: want one of {', '.join(PIVOTS)}")
    latest = store.latest(scope=filters.scope, environment=filters.environment, ring=filters.ring)
    clusters = Clusters.load(store, latest, filters.cluster, ancestry)
    pairs, shown, after = _pairs(latest, filters, limit, cursor)
    if pivot == "cluster":
        return {**_by_cluster(pairs, clusters), "next": after}
    columns = _ring_columns(shown or latest)
    if filters.cluster:
        columns = _served(columns, clusters, filters.cluster)
    defaults = {c["environment"]: c["ring"] for c in columns if c["default"]}
    rows: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    records = {r["id"]: r for r, _ in pairs}
    runs = clusters.runs()
    for record, item in pairs:
        key = f"{record['environment']}/{record.get('ring') or ''}"
        if pivot == "environment":
            key = record["environment"]
        cells = rows.setdefault((record["scope"], item["service"]), {})
        cell = _cell(record, item, clusters.about(record))
        _supersede(cell, record, clusters)
        _cluster_drift(cell, record, runs.get(group_of(record, item["service"]), []))
        if key not in cells or _better(cell, cells[key], defaults):
            cells[key] = cell
    if pivot == "environment":
        columns = _environment_columns(columns)
    else:
        for (_, service), cells in rows.items():
            _ring_drift(service, cells, columns, records)
    return {**_answer(pivot, columns, rows, clusters), "next": after}


def _better(new: Mapping[str, Any], old: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """In one environment column, the default ring's cell wins, else the newer one."""
    default = defaults.get(new["environment"])
    if (new["ring"] == default) != (old["ring"] == default):
        return bool(new["ring"] == default)
    return bool(new["startedAt"] > old["startedAt"])


def _environment_columns(columns: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    envs: dict[str, bool] = {}
    for column in columns:
        envs[column["environment"]] = (
            envs.get(column["environment"], True) and column["declaredOnly"]
        )
    return [_column(env, env, None, None, False, only) for env, only in envs.items()]


def _served(columns: list[dict[str, Any]], clusters: Clusters, name: str) -> list[dict[str, Any]]:
    """The columns a cluster serves (all, when its events do not say)."""
    environment, ring = clusters.place(name)
    return [
        c
        for c in columns
        if (environment is None or c["environment"] == environment)
        and (ring is None or c["ring"] == ring)
    ]


def _by_cluster(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], clusters: Clusters
) -> dict[str, Any]:
    """Services × clusters: what each cluster reports it runs, else the latest record of the
    environment and ring it serves (state as that cluster saw it)."""
    columns: list[dict[str, Any]] = []
    rows: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    wanted = {group_of(r, item["service"]) for r, item in pairs}
    for name in clusters.names():
        environment, ring = clusters.place(name)
        columns.append(_column(name, environment, ring, name, False, False))
        for runs in clusters.running(name):
            for item in services(runs):
                if group_of(runs, item["service"]) not in wanted:
                    continue
                cells = rows.setdefault((runs["scope"], item["service"]), {})
                if name not in cells:
                    cells[name] = _cell(runs, item, clusters.about(runs, name))
        for record, served in pairs:
            if (environment, ring) != (record["environment"], record.get("ring")):
                continue
            cells = rows.setdefault((record["scope"], served["service"]), {})
            if name not in cells:
                cell = _cell(record, served, clusters.about(record, name))
                if name in clusters.superseding(record):
                    cell["clusters"][name], cell["state"] = "superseded", "applied"
                else:
                    cell["drift"].append({"kind": "notReported", "cluster": name})
                cells[name] = cell
    return _answer("cluster", columns, rows, clusters)


def _answer(
    pivot: str,
    columns: list[dict[str, Any]],
    rows: Mapping[tuple[str, str], dict[str, Any]],
    clusters: Clusters,
) -> dict[str, Any]:
    return {
        "pivot": pivot,
        "columns": columns,
        "rows": [
            {"scope": scope, "service": service, "cells": rows[(scope, service)]}
            for scope, service in sorted(rows)
        ],
        "clusters": [clusters.brief(name) for name in clusters.names()],
    }

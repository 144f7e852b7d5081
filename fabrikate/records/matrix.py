"""What runs where: services × rings within environments (or environments, or clusters).

    grid = matrix(store, Filters(environment="prod"), pivot="ring")
    for row in grid["rows"]:
        print(row["service"], {key: cell["version"] for key, cell in row["cells"].items()})

The cells come from the store's latest table (the newest succeeded record per scope, service,
ring and environment) and the clusters' latest event per object, never from a scan of the
records. A revision a cluster reports that no latest record has is looked up by its manifest
commit (at most ``LOOKUPS`` of them per answer): a cluster that runs an older record of a cell's
group is behind (drift ``clusterBehind``). A ring whose record differs from the default ring's
record of the same service is ahead of it (drift ``aheadOfDefault``, newer) or behind
(``behindDefault``, older); its ``changes`` count the images and component versions that differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fabrikate.errors import InputError
from fabrikate.records.filters import read_row_cursor, row_cursor
from fabrikate.records.overview import cluster_states, record_state, services

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent
    from fabrikate.records.filters import Filters
    from fabrikate.records.stores.base import Store

__all__ = ["LOOKUPS", "PIVOTS", "Clusters", "matrix"]

PIVOTS = ("ring", "environment", "cluster")
LOOKUPS = 100  # revisions looked up by manifest commit per answer: the rest stay unknown
MAX_ROWS = 1000  # services of one matrix page
Group = tuple[str, str, str, str]  # scope, service, environment, ring


def _group(record: Mapping[str, Any], service: str) -> Group:
    return (record["scope"], service, record["environment"], record.get("ring") or "")


@dataclass
class Clusters:
    """The clusters' latest events, and the records their revisions name."""

    events: list[ClusterEvent]
    by_commit: dict[str, dict[str, Any]] = field(default_factory=dict)  # manifest commit -> record
    by_cluster: dict[str, list[ClusterEvent]] = field(default_factory=dict)
    by_revision: dict[str, list[ClusterEvent]] = field(default_factory=dict)

    @classmethod
    def load(
        cls, store: Store, latest: Sequence[Mapping[str, Any]], cluster: str | None
    ) -> Clusters:
        """The latest events (of ``cluster`` only, when given) and the records they name."""
        from fabrikate.records.stores.base import RecordQuery

        found = cls(list(store.latest_events(cluster=cluster)))
        for event in found.events:
            found.by_cluster.setdefault(event.cluster or "(unnamed)", []).append(event)
            if event.revision:
                found.by_revision.setdefault(event.revision, []).append(event)
        for record in latest:
            commit = (record.get("manifest") or {}).get("commit")
            if commit:
                found.by_commit.setdefault(commit, dict(record))
        newest: dict[str, str] = {}
        for event in found.events:
            if event.revision and event.revision not in found.by_commit:
                newest[event.revision] = max(newest.get(event.revision, ""), event.at)
        for revision in sorted(newest, key=newest.__getitem__, reverse=True)[:LOOKUPS]:
            hits = store.query(RecordQuery(manifest_commit=revision, limit=1))
            if hits:
                found.by_commit[revision] = hits[0]
        return found

    def names(self) -> list[str]:
        """The clusters that reported anything, by name."""
        return sorted(self.by_cluster)

    def of(self, name: str) -> list[ClusterEvent]:
        """The latest events of one cluster."""
        return self.by_cluster.get(name, [])

    def about(self, record: Mapping[str, Any], cluster: str | None = None) -> list[ClusterEvent]:
        """The latest events about the record's manifest commit (from ``cluster`` only)."""
        commit = (record.get("manifest") or {}).get("commit") or ""
        found = self.by_revision.get(commit, [])
        return [e for e in found if cluster is None or (e.cluster or "(unnamed)") == cluster]

    def place(self, name: str) -> tuple[str | None, str | None]:
        """The (environment, ring) a cluster says it serves, when its events say so."""
        mine = self.of(name)
        environment = next((e.environment for e in mine if e.environment), None)
        return environment, next((e.ring for e in mine if e.ring), None)

    def brief(self, name: str) -> dict[str, Any]:
        """A cluster's name, the environment and ring it serves, and its last event's time."""
        environment, ring = self.place(name)
        last = max(e.at for e in self.of(name))
        return {"name": name, "environment": environment, "ring": ring, "lastEventAt": last}

    def running(self, name: str) -> list[dict[str, Any]]:
        """The records whose manifest commits the cluster reports, newest first."""
        revisions = {e.revision for e in self.of(name) if e.revision}
        found = [self.by_commit[r] for r in revisions if r in self.by_commit]
        return sorted(found, key=lambda r: (r["startedAt"], r["id"]), reverse=True)

    def runs(self) -> dict[Group, list[tuple[str, dict[str, Any], str | None]]]:
        """Per group, the (cluster, record, version) of what each cluster reports it runs."""
        found: dict[Group, list[tuple[str, dict[str, Any], str | None]]] = {}
        for name in self.names():
            for record in self.running(name):
                for item in services(record):
                    group = _group(record, item["service"])
                    found.setdefault(group, []).append((name, record, item["version"]))
        return found


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


def _versions(record: Mapping[str, Any], component: str | None) -> dict[tuple[str, ...], Any]:
    """The images and component versions of ``component`` (of all, when None), by where."""

    def mine(path: str) -> bool:
        return component is None or path == component or path.startswith(component + "/")

    found: dict[tuple[str, ...], Any] = {
        ("image", i["component"], i["workload"], i["container"]): i["image"]
        for i in record.get("images") or []
        if mine(i["component"])
    }
    for c in record.get("components") or []:
        if mine(c["logicalPath"]):
            chart = (c.get("chart") or {}).get("version")
            found[("component", c["logicalPath"])] = (chart, c.get("version"), c.get("commit"))
    return found


def _ring_drift(
    cells: dict[str, dict[str, Any]],
    columns: Sequence[Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
) -> None:
    """Mark each ring's cell against the default ring's cell of its environment; ``changes``
    counts the images and component versions (of the cell's component) that differ."""
    defaults = {c["environment"]: c["key"] for c in columns if c["default"]}
    memo: dict[tuple[str, str | None], dict[tuple[str, ...], Any]] = {}

    def versions(cell: Mapping[str, Any], component: str | None) -> dict[tuple[str, ...], Any]:
        key = (cell["recordId"], component)
        if key not in memo:
            memo[key] = _versions(records[cell["recordId"]], component)
        return memo[key]

    for column in columns:
        cell, base_key = cells.get(column["key"]), defaults.get(column["environment"])
        base = cells.get(base_key) if base_key else None
        if cell is None or base is None or base is cell or cell["version"] == base["version"]:
            continue
        before, after = versions(base, cell["component"]), versions(cell, cell["component"])
        changes = sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        kind = "aheadOfDefault" if cell["startedAt"] > base["startedAt"] else "behindDefault"
        cell["drift"].append(
            {"kind": kind, "ring": base["ring"], "version": base["version"], "changes": changes}
        )


def _cluster_drift(
    cell: dict[str, Any], runs: Sequence[tuple[str, Mapping[str, Any], str | None]]
) -> None:
    """Clusters that run an older record of the cell's group are behind."""
    for name, other, version in runs:
        if other["id"] != cell["recordId"] and other["startedAt"] < cell["startedAt"]:
            cell["drift"].append(
                {
                    "kind": "clusterBehind",
                    "cluster": name,
                    "recordId": other["id"],
                    "version": version,
                }
            )


def _page(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]], limit: int | None, cursor: str | None
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], str | None]:
    """The pairs of the rows (scope, service) after ``cursor``, at most ``limit`` rows, and
    the cursor of the rows after them."""
    if limit is None and cursor is None:
        return pairs, None
    if limit is not None and not 1 <= limit <= MAX_ROWS:
        raise InputError(f"limit {limit}: want 1 to {MAX_ROWS} rows")
    after = read_row_cursor(cursor) if cursor else None
    keys = sorted({(r["scope"], item["service"]) for r, item in pairs})
    keys = [key for key in keys if after is None or key > after]
    shown = set(keys[:limit])
    more = limit is not None and len(keys) > limit
    chosen = [(r, item) for r, item in pairs if (r["scope"], item["service"]) in shown]
    return chosen, row_cursor(*keys[limit - 1]) if more and limit else None


def matrix(
    store: Store,
    filters: Filters,
    *,
    pivot: str = "ring",
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Services × columns (``pivot``: ring within environment, environment, or cluster), each
    cell the version, image, record, state and drift of what runs there; ``limit`` rows
    (services) at most, those after ``cursor`` (``next`` is the cursor of the rows after)."""
    if pivot not in PIVOTS:
        raise InputError(f"pivot {pivot[:40]!r}: want one of {', '.join(PIVOTS)}")
    latest = store.latest(scope=filters.scope, environment=filters.environment, ring=filters.ring)
    clusters = Clusters.load(store, latest, filters.cluster)
    every = [(r, item) for r in latest for item in services(r) if _keep(r, item, filters)]
    pairs, after = _page(every, limit, cursor)
    if pivot == "cluster":
        return {**_by_cluster(pairs, clusters), "next": after}
    columns = _ring_columns([r for r, _ in every] or latest)
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
        _cluster_drift(cell, runs.get(_group(record, item["service"]), []))
        if key not in cells or _better(cell, cells[key], defaults):
            cells[key] = cell
    if pivot == "environment":
        columns = _environment_columns(columns)
    else:
        for cells in rows.values():
            _ring_drift(cells, columns, records)
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
    wanted = {_group(r, item["service"]) for r, item in pairs}
    for name in clusters.names():
        environment, ring = clusters.place(name)
        columns.append(_column(name, environment, ring, name, False, False))
        for runs in clusters.running(name):
            for item in services(runs):
                if _group(runs, item["service"]) not in wanted:
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

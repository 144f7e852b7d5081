"""What the clusters report: their latest events, and the records those events name.

    clusters = Clusters.load(store, store.latest(), cluster=None)
    for name in clusters.names():
        print(name, clusters.place(name), [r["id"] for r in clusters.running(name)])

A revision that no given record has is looked up by its manifest commit (at most ``LOOKUPS``
per answer, the newest first); the rest stay unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fabrikate.records.overview import services

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent
    from fabrikate.records.gitinfo import Ancestry
    from fabrikate.records.stores.base import Store

__all__ = ["LOOKUPS", "Clusters", "Group", "group_of"]

LOOKUPS = 100  # revisions looked up by manifest commit per answer: the rest stay unknown
Group = tuple[str, str, str, str]  # scope, service, environment, ring


def group_of(record: Mapping[str, Any], service: str) -> Group:
    return (record["scope"], service, record["environment"], record.get("ring") or "")


@dataclass
class Clusters:
    """The clusters' latest events, and the records their revisions name."""

    events: list[ClusterEvent]
    ancestry: Ancestry | None = None  # a manifest repository clone: which commits a revision has
    by_commit: dict[str, dict[str, Any]] = field(default_factory=dict)  # manifest commit -> record
    by_cluster: dict[str, list[ClusterEvent]] = field(default_factory=dict)
    by_revision: dict[str, list[ClusterEvent]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for event in self.events:
            self.by_cluster.setdefault(event.cluster or "(unnamed)", []).append(event)
            if event.revision:
                self.by_revision.setdefault(event.revision, []).append(event)

    @classmethod
    def load(
        cls,
        store: Store,
        latest: Sequence[dict[str, Any]],
        cluster: str | None,
        ancestry: Ancestry | None = None,
    ) -> Clusters:
        """The latest events (of ``cluster`` only, when given) and the records they name."""
        from fabrikate.records.stores.base import RecordQuery

        found = cls(list(store.latest_events(cluster=cluster)), ancestry)
        for record in latest:
            commit = (record.get("manifest") or {}).get("commit")
            if commit:
                found.by_commit.setdefault(commit, record)
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

    def superseding(self, record: Mapping[str, Any]) -> list[str]:
        """The clusters (serving the record's environment and ring, or not saying) that run a
        later revision that includes the record's manifest commit."""
        commit = (record.get("manifest") or {}).get("commit")
        if self.ancestry is None or not commit:
            return []
        found = []
        for name in self.names():
            environment, ring = self.place(name)
            if environment not in (None, record["environment"]) or ring not in (
                None,
                record.get("ring"),
            ):
                continue
            revisions = {e.revision for e in self.of(name) if e.revision}
            if commit not in revisions and any(
                self.ancestry.includes(r, commit) for r in revisions
            ):
                found.append(name)
        return found

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

    def runs(self) -> dict[Group, list[tuple[str, dict[str, Any], dict[str, Any]]]]:
        """Per group, the (cluster, record, service item) of what each cluster reports it runs."""
        found: dict[Group, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
        for name in self.names():
            for record in self.running(name):
                for item in services(record):
                    group = group_of(record, item["service"])
                    found.setdefault(group, []).append((name, record, item))
        return found

"""One record at a glance: its services and versions, its state, and Spektate's columns.

    for item in services(record):      # [{service, version, image, component}]
        print(item["service"], item["version"])
    row = summary(record, events)      # state, service, ring, author, pr, synced clusters, ...

A record's state, worst first: ``failed`` (the generation, or a cluster's last event for its
manifest commit) › ``healthy`` (on every cluster that reported its manifest commit) ›
``applied`` (a cluster applied it) › ``committed`` (the manifest commit is known) ›
``generated``; a canceled run is ``canceled``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fabrikate.records.journey import commit_url, events_for, pull_request_url
from fabrikate.records.stores.facts import Facts, glance

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent

__all__ = [
    "STATES",
    "author_name",
    "cluster_states",
    "differences",
    "glance",
    "record_state",
    "record_type",
    "service_differences",
    "services",
    "summary",
]

STATES = ("generated", "committed", "applied", "healthy", "failed", "canceled")


def _short(commit: str | None) -> str | None:
    return commit[:7] if commit else None


def _main_image(images: Sequence[Mapping[str, Any]], name: str | None) -> Mapping[str, Any] | None:
    """The image that best names a service: its repository ends in ``name``, else the first
    app container's, else the first."""
    if name:
        for image in images:
            if str(image.get("repository") or "").rsplit("/", 1)[-1] == name:
                return image
    apps = [i for i in images if i.get("containerType") in (None, "containers")]
    chosen = apps or list(images)
    return chosen[0] if chosen else None


def services(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The services one record deploys, with their versions: ``record["service"]`` when set
    (its image tag, else the source or HLD short commit), else one per helm component (its
    chart version, else the component's version or commit)."""
    images = record.get("images") or []
    if record.get("service"):
        name = record["service"]
        image = _main_image(images, name)
        source = record.get("source") or {}
        version = (image or {}).get("tag") or _short(source.get("commit"))
        version = version or (record.get("hld") or {}).get("commitShort")
        return [_service(name, version, image)]
    found = []
    for component in record.get("components") or []:
        if component.get("type") != "helm":
            continue
        path = component.get("logicalPath")
        mine = [i for i in images if i.get("component") == path]
        chart = component.get("chart") or {}
        version = (
            chart.get("version") or component.get("version") or _short(component.get("commit"))
        )
        found.append(
            _service(component["name"], version, _main_image(mine, component["name"]), path)
        )
    if not found:  # no helm component: the whole tree is one service, named by its scope
        version = (record.get("hld") or {}).get("commitShort")
        found.append(_service(record["scope"], version, _main_image(images, None)))
    return found


def _service(
    name: str, version: str | None, image: Mapping[str, Any] | None, component: str | None = None
) -> dict[str, Any]:
    return {
        "service": name,
        "version": version,
        "image": image["image"] if image else None,
        "component": component or (image["component"] if image else None),
    }


def _deployed(record: Mapping[str, Any], component: str | None) -> dict[tuple[str, str], str]:
    """The images and component versions of ``component``'s subtree (all, when None), by
    (kind, name)."""

    def mine(path: str) -> bool:
        return component is None or path == component or path.startswith(component + "/")

    found = {
        ("image", f"{i['component']}/{i['workload']}/{i['container']}"): str(i["image"])
        for i in record.get("images") or []
        if mine(i["component"])
    }
    for c in record.get("components") or []:
        if mine(c["logicalPath"]):
            chart, commit = (c.get("chart") or {}).get("version"), c.get("commit")
            parts = (chart, c.get("version") if c.get("version") != chart else None, commit)
            found[("component", c["logicalPath"])] = " ".join(str(p)[:12] for p in parts if p)
    return found


def differences(
    a: Mapping[str, Any], b: Mapping[str, Any], component: str | None = None
) -> list[dict[str, Any]]:
    """What ``b`` deploys that ``a`` does not: each image and chart or component version (of
    ``component``'s subtree, or all) that differs, as ``{kind, name, a, b}``."""
    before, after = _deployed(a, component), _deployed(b, component)
    return [
        {"kind": kind, "name": name, "a": before.get((kind, name)), "b": after.get((kind, name))}
        for kind, name in sorted(before.keys() | after.keys())
        if before.get((kind, name)) != after.get((kind, name))
    ]


def service_differences(
    a: Mapping[str, Any], a_item: Mapping[str, Any], b: Mapping[str, Any], b_item: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``differences`` of one service (``services`` items) of two records: all the images and
    versions of a record that is the service, else those of its component; its version too
    when nothing else differs (a source or HLD commit)."""
    scope = None if b.get("service") else b_item.get("component")
    found = differences(a, b, scope)
    if not found and a_item["version"] != b_item["version"]:
        name = b_item["service"]
        found = [{"kind": "version", "name": name, "a": a_item["version"], "b": b_item["version"]}]
    return found


def _last_per_object(events: Iterable[ClusterEvent]) -> list[ClusterEvent]:
    """The newest event of each (cluster, kind, namespace, name)."""
    last: dict[tuple[Any, ...], ClusterEvent] = {}
    for event in sorted(events, key=lambda e: e.at):
        last[(event.cluster, event.kind, event.namespace, event.name)] = event
    return list(last.values())


def _state_of(record: Mapping[str, Any], mine: Sequence[ClusterEvent]) -> str:
    """The record's state: failed when a cluster's last event says so, healthy only when every
    cluster that reported its manifest commit is healthy, applied when one applied it."""
    outcome = record.get("outcome")
    if outcome in ("failed", "canceled"):
        return str(outcome)
    states = {_cluster_state(found) for found in _by_cluster(mine).values()}
    if "failed" in states:
        return "failed"
    if states == {"healthy"}:
        return "healthy"
    if states & {"applied", "healthy"}:  # healthy on some clusters only counts as applied
        return "applied"
    return "committed" if (record.get("manifest") or {}).get("commit") else "generated"


def _cluster_state(mine: Sequence[ClusterEvent]) -> str | None:
    """What one cluster's events about a record say: failed or healthy (by the last event of
    each object), applied, or None (nothing ran yet)."""
    last = {event.state for event in _last_per_object(mine)}
    if "failed" in last:
        return "failed"
    if "healthy" in last:
        return "healthy"
    if any(event.state in ("applied", "healthy") for event in mine):
        return "applied"
    return None


def _by_cluster(events: Iterable[ClusterEvent]) -> dict[str, list[ClusterEvent]]:
    by_cluster: dict[str, list[ClusterEvent]] = {}
    for event in events:
        by_cluster.setdefault(event.cluster or "(unnamed)", []).append(event)
    return by_cluster


def record_state(record: Mapping[str, Any], events: Iterable[ClusterEvent] = ()) -> str:
    """The state of ``record`` given the clusters' events (the module's rules)."""
    return _state_of(record, events_for(record, events) if events else [])


def cluster_states(record: Mapping[str, Any], events: Iterable[ClusterEvent]) -> dict[str, str]:
    """The state of ``record`` in each cluster that reported its manifest commit."""
    found = _by_cluster(events_for(record, events))
    return {name: _state_of(record, found[name]) for name in sorted(found)}


def record_type(record: Mapping[str, Any]) -> str:
    """``pr`` (a pull request validation run), ``pipeline`` (a CI run) or ``manual`` (the
    store's meaning of the ``type`` filter)."""
    return Facts.of(record).kind


def author_name(record: Mapping[str, Any]) -> str | None:
    """The HLD commit's author, without the e-mail address."""
    author = (record.get("hld") or {}).get("commitAuthor") or ""
    return author.split("<", 1)[0].strip() or None


def summary(record: Mapping[str, Any], events: Iterable[ClusterEvent] = ()) -> dict[str, Any]:
    """Spektate's columns of one record (and ours): JSON-ready, camelCase."""
    mine = events_for(record, events)
    hld, ci = record.get("hld") or {}, record.get("ci") or {}
    source, manifest = record.get("source") or {}, record.get("manifest") or {}
    output, validation = record.get("output") or {}, record.get("validation")
    listed = services(record)
    states = cluster_states(record, mine)
    tags = sorted(
        {f"{i['repository']}:{i['tag']}" for i in record.get("images") or [] if i.get("tag")}
    )
    return {
        "id": record["id"],
        "rowKey": record["rowKey"],
        "scope": record["scope"],
        "state": _state_of(record, mine),
        "service": record.get("service") or ", ".join(s["service"] for s in listed),
        "services": listed,
        "ring": record.get("ring"),
        "environment": record["environment"],
        "author": author_name(record),
        "type": record_type(record),
        "imageBuild": {
            "sourceCommit": _short(source.get("commit")),
            "sourceUrl": commit_url(source.get("repo"), source.get("commit")),
            "images": tags,
        },
        "hldUpdate": {
            "commit": hld.get("commitShort"),
            "url": commit_url(hld.get("repo"), hld.get("commit")),
            "manual": record_type(record) == "manual",
        },
        "pr": hld.get("pr"),
        "prUrl": pull_request_url(hld.get("repo"), hld.get("pr")),
        "mergedBy": hld.get("mergedBy"),
        "manifestGeneration": {
            "provider": ci.get("provider"),
            "runId": ci.get("runId"),
            "runNumber": ci.get("runNumber"),
            "runUrl": ci.get("runUrl"),
            "outcome": record.get("outcome"),
        },
        "manifestCommit": manifest.get("commitShort") or _short(manifest.get("commit")),
        "manifestUrl": commit_url(manifest.get("repo"), manifest.get("commit")),
        "startedAt": record["startedAt"],
        "lastUpdated": max(
            [record.get("finishedAt") or record["startedAt"], *(e.at for e in mine)]
        ),
        "durationMs": record.get("durationMs"),
        "syncedClusters": [
            name for name, state in states.items() if state in ("applied", "healthy")
        ],
        "clusters": states,
        "outcome": record.get("outcome"),
        "unchanged": output.get("changed") is False,
        "branch": hld.get("branch"),
        "validation": {
            "passed": validation.get("passed"),
            "errors": validation.get("errors"),
            "warnings": validation.get("warnings"),
        }
        if validation
        else None,
    }

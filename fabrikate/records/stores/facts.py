"""What every store indexes about a record, and the one reference matcher of a RecordQuery.

    facts = Facts.of(record)         # the indexed columns: ring, service, kind, commits, …
    if matches(record, query): ...   # the meaning of every RecordQuery filter

The SQL stores keep ``Facts`` as columns; the memory and Azure stores (and a read-only SQLite
file of schema 1) filter with ``matches``, so all stores agree on what a filter means.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from fabrikate.records.stores.base import RecordQuery

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent

__all__ = [
    "GLANCE",
    "KINDS",
    "Facts",
    "event_key",
    "event_matches",
    "glance",
    "latest_key",
    "latest_of",
    "matches",
    "newest_first",
    "order_key",
    "prunable",
]

KINDS = ("pipeline", "manual", "pr")
GLANCE = 1  # the shape of ``glance``: bump it when that changes (stores then make them anew)


def _text(value: Any) -> str | None:
    return str(value).lower() if value else None


def _part(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = record.get(name)
    return value if isinstance(value, Mapping) else {}


def _kind(record: Mapping[str, Any]) -> str:
    ci = _part(record, "ci")
    if ci.get("validationOnly"):
        return "pr"
    return "manual" if ci.get("provider") in (None, "", "local") else "pipeline"


class Facts(NamedTuple):
    """The indexed facts of one record (commits and authors lower case)."""

    ring: str | None
    service: str | None
    kind: str
    author: str | None  # commitAuthor and mergedBy, one per line
    hld_commit: str | None
    source_commit: str | None
    manifest_commit: str | None
    components: tuple[str, ...]
    images: tuple[str, ...]

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Facts:
        """The facts ``record`` holds."""
        hld = _part(record, "hld")
        authors = [str(a).lower() for a in (hld.get("commitAuthor"), hld.get("mergedBy")) if a]
        return cls(
            ring=record.get("ring") or None,
            service=record.get("service") or None,
            kind=_kind(record),
            author="\n".join(authors) or None,
            hld_commit=_text(hld.get("commit")),
            source_commit=_text(_part(record, "source").get("commit")),
            manifest_commit=_text(_part(record, "manifest").get("commit")),
            components=tuple(
                str(c["name"])
                for c in record.get("components") or ()
                if isinstance(c, Mapping) and c.get("name")
            ),
            images=tuple(
                str(i["image"])
                for i in record.get("images") or ()
                if isinstance(i, Mapping) and i.get("image")
            ),
        )

    @property
    def commits(self) -> tuple[str, ...]:
        """The HLD, source and manifest commits that are known."""
        return tuple(c for c in (self.hld_commit, self.source_commit, self.manifest_commit) if c)


_HLD = ("repo", "commit", "commitShort", "branch", "commitTime", "commitAuthor", "pr", "mergedBy")
_COMPONENT = ("logicalPath", "name", "type", "version", "commit", "chart")
_IMAGE = (
    *("component", "kind", "workload", "container", "containerType"),
    *("image", "repository", "tag"),
)


def _pick(data: Mapping[str, Any] | None, keys: Sequence[str]) -> dict[str, Any] | None:
    return {key: data.get(key) for key in keys} if data else None


def glance(record: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a record that the matrix, the ring page and ``overview.summary`` read: no
    objects, findings, error or tool versions (``"glance": True`` says so). The latest rows
    keep this instead of the whole record; ``summary(glance(r)) == summary(r)``. A change to
    its shape bumps ``GLANCE``."""
    validation = record.get("validation")
    output = record.get("output")
    return {
        **{key: record.get(key) for key in ("id", "rowKey", "scope", "environment", "ring")},
        **{key: record.get(key) for key in ("rings", "service", "manifest", "ci", "source")},
        **{key: record.get(key) for key in ("startedAt", "finishedAt", "durationMs", "outcome")},
        "hld": _pick(record.get("hld"), _HLD) or {},
        "components": [_pick(c, _COMPONENT) for c in record.get("components") or []],
        "images": [_pick(i, _IMAGE) for i in record.get("images") or []],
        "output": _pick(output, ("digest", "changed")),
        "validation": _pick(validation, ("passed", "errors", "warnings")),
        "glance": True,
    }


def order_key(record: Mapping[str, Any]) -> tuple[str, str]:
    """Where ``record`` sorts: newest first means this key descending."""
    return (str(record["startedAt"]), str(record["id"]))


def newest_first(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``records`` sorted by (startedAt, id) descending."""
    return sorted(records, key=order_key, reverse=True)


def latest_key(record: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """(scope, service, ring, environment) of a record ``latest`` serves; None when it does
    not count (not succeeded, or a PR build). A missing service or ring is ""."""
    if record.get("outcome") != "succeeded":
        return None
    facts = Facts.of(record)
    if facts.kind == "pr":
        return None
    return (record["scope"], facts.service or "", facts.ring or "", record["environment"])


def latest_of(records: Iterable[Mapping[str, Any]], *, ring: str | None = None) -> list[Any]:
    """What ``latest`` answers, found by a scan of ``records`` (a store without latest rows)."""
    newest: dict[tuple[str, str, str, str], Mapping[str, Any]] = {}
    for record in newest_first(records):
        key = latest_key(record)
        if key and key not in newest and (ring is None or key[2] == ring):
            newest[key] = record
    return list(newest.values())


def _service(record: Mapping[str, Any], facts: Facts, service: str) -> bool:
    if facts.service is not None:
        return facts.service == service
    return service in facts.components


def _exact(record: Mapping[str, Any], facts: Facts, q: RecordQuery) -> bool:
    pairs = (
        (q.scope, record.get("scope")),
        (q.environment, record.get("environment")),
        (q.ring, facts.ring),
        (q.outcome, record.get("outcome")),
        (q.kind, facts.kind),
        (q.manifest_commit and q.manifest_commit.lower(), facts.manifest_commit),
    )
    return all(want is None or want == have for want, have in pairs)


def _searches(record: Mapping[str, Any], facts: Facts, q: RecordQuery) -> bool:
    if q.service is not None and not _service(record, facts, q.service):
        return False
    if q.author is not None and q.author.lower() not in (facts.author or ""):
        return False
    if q.commit is not None and not any(c.startswith(q.commit.lower()) for c in facts.commits):
        return False
    if q.image is not None and not any(q.image in image for image in facts.images):
        return False
    if q.component is not None and q.component not in facts.components:
        return False
    if q.keyword is not None:
        text = json.dumps(record, sort_keys=True, ensure_ascii=False).lower()
        return q.keyword.lower() in text
    return True


def matches(record: Mapping[str, Any], q: RecordQuery) -> bool:
    """Whether ``record`` passes every filter of ``q`` (``limit`` aside)."""
    started = str(record["startedAt"])
    if q.since is not None and started < q.since:
        return False
    if q.until is not None and started >= q.until:
        return False
    if q.before is not None and order_key(record) >= tuple(q.before):
        return False
    facts = Facts.of(record)
    return _exact(record, facts, q) and _searches(record, facts, q)


def prunable(
    records: Iterable[Mapping[str, Any]],
    *,
    before: str,
    keep_latest: bool,
    latest_ids: Iterable[str],
) -> list[str]:
    """The ids ``prune`` removes from ``records``, newest first: those started before
    ``before``, but with ``keep_latest`` never the newest of a (scope, environment) nor one of
    ``latest_ids``."""
    kept, seen = set(latest_ids) if keep_latest else set(), set()
    chosen = []
    for record in newest_first(records):
        place = (record["scope"], record["environment"])
        if keep_latest and place not in seen:
            kept.add(record["id"])
        seen.add(place)
        if str(record["startedAt"]) < before and record["id"] not in kept:
            chosen.append(str(record["id"]))
    return chosen


def event_key(event: ClusterEvent) -> tuple[str, str, str, str, str]:
    """What ``latest_events`` keeps one event of: (cluster, source, kind, namespace, name)."""
    return (event.cluster or "", event.source, event.kind, event.namespace or "", event.name)


def event_matches(
    event: ClusterEvent,
    *,
    cluster: str | None,
    revision: str | None,
    since: str | None,
    before: str | tuple[str, str] | None,
    revisions: Iterable[str] | None = None,
) -> bool:
    """Whether ``event`` passes the filters of ``Store.events``."""
    if cluster is not None and event.cluster != cluster:
        return False
    if revision is not None and event.revision != revision.lower():
        return False
    if revisions is not None and event.revision not in {r.lower() for r in revisions}:
        return False
    if since is not None and event.at < since:
        return False
    if isinstance(before, tuple):
        return (event.at, event.id) < before
    return before is None or event.at < before

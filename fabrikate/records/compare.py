"""Two deployments compared: records by id, or environments and rings by their latest record.

    answer = compare(store, "env:dev", "env:prod")          # promotion: what prod would get
    answer = compare(store, "develop", "master", service="api")   # two rings of one service

A bare name may be an environment and a ring at once: two rings or two environments are tried
before an environment against a ring, and the reading whose sides pair up wins (two that do
are ambiguous: the error spells ``env:``/``ring:`` as the caller takes them). A side that names
many records (an environment with several services or rings) is paired with the other side by
scope and service, and by the axis neither side names; the default ring wins a tie. A rollback
is the newer side returning to an earlier output digest of its group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fabrikate.errors import FabrikateError, InputError, NotFound
from fabrikate.records.objects import compare_records
from fabrikate.records.overview import services
from fabrikate.records.stores.base import RecordQuery
from fabrikate.records.stores.facts import order_key

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store

__all__ = [
    "CLI_SPELLING",
    "HISTORY",
    "URL_SPELLING",
    "Spelling",
    "changes",
    "compare",
    "earlier",
    "get_record",
    "previous",
]

HISTORY = 200  # earlier records of a group a rollback is looked for in
SCAN = 100  # newest generations of one service read for its latest per ring and environment
_REF = re.compile(r"^[0-9a-f-]{4,36}$")


def get_record(store: Store, ref: str) -> dict[str, Any]:
    """The record an id, row key or a prefix of one names (a malformed one: ``InputError``)."""
    ref = ref.strip().lower()
    if not _REF.match(ref):
        raise InputError(f"bad record id {ref[:40]!r}: want 4 to 36 hex digits")
    return store.get(ref)


def earlier(store: Store, record: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The succeeded records of ``record``'s group (scope, environment, ring and service)
    before it, newest first."""
    return store.query(
        RecordQuery(
            scope=record["scope"],
            environment=record["environment"],
            ring=record.get("ring"),
            service=record.get("service"),
            outcome="succeeded",
            before=order_key(record),
            limit=limit,
        )
    )


def previous(store: Store, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The succeeded record of the same group just before ``record``."""
    found = earlier(store, record, 1)
    return found[0] if found else None


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any] | None:
    """What changed from ``old`` to ``new``: components, images, and object counts."""
    if old is None:
        return None
    diff = compare_records(old, new).to_data()
    objects = diff["objects"]
    return {
        "previous": old["id"],
        "components": diff["components"],
        "images": diff["images"],
        "objects": {
            "known": objects["known"],
            "added": len(objects["added"]),
            "removed": len(objects["removed"]),
            "changed": len(objects["changed"]),
        },
        "sameOutput": diff["sameOutput"],
    }


def _latest(
    store: Store, service: str | None, *, environment: str | None = None, ring: str | None = None
) -> list[dict[str, Any]]:
    """``store.latest``, of one service when given: then from the service's newest ``SCAN``
    generations of each kind (the latest table is not keyed by service alone)."""
    if service is None:
        return store.latest(environment=environment, ring=ring)
    newest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for kind in ("pipeline", "manual"):  # never a pull request's validation run
        query = RecordQuery(
            environment=environment,
            ring=ring,
            service=service,
            outcome="succeeded",
            kind=kind,
            limit=SCAN,
        )
        for record in store.query(query):
            key = (record["scope"], record.get("ring") or "", record["environment"])
            if key not in newest or order_key(record) > order_key(newest[key]):
                newest[key] = record
    return list(newest.values())


Side = tuple[str, list[dict[str, Any]]]  # what a ref names: (kind, records)
_PREFIX = {"record": "", "environment": "env:", "ring": "ring:"}


@dataclass(frozen=True)
class Spelling:
    """How the caller names a side's kind and the service in an error: CLI arguments or URL
    parameters."""

    service: str  # how to pick a service
    pair: str  # the two sides, from ``{a}`` and ``{b}``

    def sides(self, a: str, b: str) -> str:
        return self.pair.format(a=a, b=b)


CLI_SPELLING = Spelling(service="--service NAME", pair="{a} {b}")
URL_SPELLING = Spelling(service="service=NAME", pair="a={a}&b={b}")


def _readings(store: Store, ref: str, service: str | None) -> tuple[str, list[Side]]:
    """The name ``ref`` gives and every side it names: a record, else the environment and the
    ring of that name that have records (``env:``/``ring:`` force one)."""
    kind, _, name = ref.partition(":") if ref.startswith(("env:", "ring:")) else ("", "", ref)
    name = name.strip()
    if not name:
        raise InputError("compare needs two records, environments or rings (a= and b=)")
    missing: FabrikateError | None = None
    if not kind and _REF.match(name.lower()):
        try:
            return name, [("record", [get_record(store, name)])]
        except FabrikateError as exc:  # no record starts with it: it may be a name after all
            missing = exc
    found: list[Side] = []
    if kind in ("", "env"):
        found.append(("environment", _latest(store, service, environment=name)))
    if kind in ("", "ring"):
        found.append(("ring", _latest(store, service, ring=name)))
    found = [side for side in found if side[1]]
    if found:
        return name, found
    if missing is not None:
        raise missing
    what = {"env": "environment", "ring": "ring"}.get(kind, "record, environment or ring")
    raise NotFound(
        f"no {what} {name[:60]!r}" + (f" with service {service[:60]!r}" if service else "")
    )


def _resolve(
    a: tuple[str, list[Side]], b: tuple[str, list[Side]], service: str | None, spelling: Spelling
) -> tuple[Side, Side, tuple[dict[str, Any], dict[str, Any]]]:
    """The sides and the pair of records two refs name: two rings or two environments before
    an environment against a ring, and of those the readings whose sides pair up; more than
    one of the first that do is ambiguous."""
    readings = [(x, y) for x in a[1] for y in b[1]]
    first: FabrikateError | None = None
    for same in (True, False):
        chosen = []
        for x, y in readings:
            if (x[0] == y[0]) != same:
                continue
            try:
                chosen.append((x, y, _choose(x, y, service, spelling)))
            except FabrikateError as exc:
                first = first or exc
        if len(chosen) == 1:
            return chosen[0]
        if chosen:
            spelled = [
                spelling.sides(_PREFIX[x[0]] + a[0], _PREFIX[y[0]] + b[0]) for x, y, _ in chosen
            ]
            raise InputError(
                f"{a[0][:60]!r} and {b[0][:60]!r} name both environments and rings: "
                f"say which, {' or '.join(spelled)}"
            )
    assert first is not None  # there is a reading, and each failed
    raise first


def _pair_key(record: Mapping[str, Any], kinds: tuple[str, str]) -> tuple[Any, ...]:
    """What two sides must share to be compared: the scope and service, and the axis neither
    side names (comparing rings: the environment; environments: the ring)."""
    key: tuple[Any, ...] = (record["scope"], record.get("service") or "")
    if "environment" not in kinds:
        key += (record["environment"],)
    if "ring" not in kinds:
        key += (record.get("ring") or "",)
    return key


def _choose(
    a: Side, b: Side, service: str | None, spelling: Spelling
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one pair of records the two sides name (for many services: ``service``)."""
    kinds = (a[0], b[0])

    def serves(kind: str, record: Mapping[str, Any]) -> bool:
        return kind == "record" or service is None or service in _names(record)

    side_a = [r for r in a[1] if serves(a[0], r)]
    side_b = [r for r in b[1] if serves(b[0], r)]
    if not side_a or not side_b:
        raise NotFound(f"no record of service {service!r} on both sides")
    if len(side_a) == 1 and len(side_b) == 1:
        return side_a[0], side_b[0]
    pairs = [(x, y) for x in side_a for y in side_b if _pair_key(x, kinds) == _pair_key(y, kinds)]
    defaults = [(x, y) for x, y in pairs if _is_default(x) and _is_default(y)]
    chosen = defaults if len(pairs) > 1 and defaults else pairs
    if len(chosen) == 1:
        return chosen[0]
    names = sorted({x.get("service") or x["scope"] for x, _ in chosen})
    raise InputError(
        f"the two sides share {len(chosen)} services or rings ({', '.join(names[:5])}"
        f"{', ...' if len(names) > 5 else ''}): name one with {spelling.service}"
    )


def _names(record: Mapping[str, Any]) -> set[str]:
    return {item["service"] for item in services(record)}


def _is_default(record: Mapping[str, Any]) -> bool:
    rings = record.get("rings") or {}
    return bool(rings.get("default")) and rings.get("default") == record.get("ring")


def _rollback(store: Store, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The earlier record of the group whose output ``record`` returned to, if it did: its
    digest equals an earlier one's while the previous record's differs."""
    digest = (record.get("output") or {}).get("digest")
    if not digest:
        return None
    history = earlier(store, record, HISTORY)
    digests = [(r.get("output") or {}).get("digest") for r in history]
    if not digests or digests[0] == digest:
        return None
    same = next((r for r, d in zip(history, digests, strict=True) if d == digest), None)
    return {"recordId": same["id"], "startedAt": same["startedAt"]} if same else None


def compare(
    store: Store,
    a: str,
    b: str,
    *,
    service: str | None = None,
    spelling: Spelling = URL_SPELLING,
) -> dict[str, Any]:
    """Two records compared: ``a``/``b`` are record ids (or prefixes), else environment or ring
    names meaning their latest record (``env:NAME``/``ring:NAME`` force the kind); errors say
    how to be precise in the caller's ``spelling``."""
    readings = _readings(store, a, service), _readings(store, b, service)
    side_a, side_b, pair = _resolve(*readings, service, spelling)
    old, new = (_whole(store, r) for r in pair)
    diff = compare_records(old, new).to_data()
    return {
        "a": {"ref": a, "kind": side_a[0], **_brief(old)},
        "b": {"ref": b, "kind": side_b[0], **_brief(new)},
        "components": diff["components"],
        "images": diff["images"],
        "objects": diff["objects"],
        "sameOutput": diff["sameOutput"],
        "rollback": _rollback(store, new),
    }


def _whole(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """The whole record of a glance (a store's latest table may keep only that)."""
    return store.get(record["id"]) if record.get("glance") else record


def _brief(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "recordId": record["id"],
        "rowKey": record["rowKey"],
        "environment": record["environment"],
        "ring": record.get("ring"),
        "service": record.get("service"),
        "startedAt": record["startedAt"],
        "services": services(record),
    }

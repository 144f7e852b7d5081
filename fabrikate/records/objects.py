"""Kubernetes objects in records: one digest per rendered object, and the diff of two records.

    entries = object_entries("app", "app.yaml", documents)   # at generate time
    diff = compare_objects(record_a, record_b)               # added, removed, changed

An object is keyed by (apiVersion, kind, namespace, name); its digest is the SHA-256 of its
canonical JSON (sorted keys), so re-indenting or re-ordering the YAML changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from fabrikate.records.images import parse_documents

__all__ = [
    "ObjectDiff",
    "RecordDiff",
    "compare_objects",
    "compare_records",
    "object_digest",
    "object_entries",
    "object_key",
]

Key = tuple[str, str, str, str]


def object_digest(obj: Any) -> str:
    """``sha256:<hex>`` of the object's canonical JSON."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _entry(obj: Mapping[str, Any], component: str, file: str) -> dict[str, Any]:
    meta: Mapping[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), Mapping) else {}
    return {
        "apiVersion": str(obj.get("apiVersion") or ""),
        "kind": str(obj.get("kind") or ""),
        "namespace": str(meta["namespace"]) if meta.get("namespace") else None,
        "name": str(meta.get("name") or ""),
        "digest": object_digest(obj),
        "file": file,
        "component": component,
    }


def object_entries(component: str, file: str, documents: Iterable[Any]) -> list[dict[str, Any]]:
    """The record entries of a component's rendered documents (text or parsed); lists
    (``kind: List``) count item by item, and anything that is not an object is skipped."""
    found = []
    for doc in documents:
        if isinstance(doc, str):
            doc = parse_documents([doc])[0]
        if not isinstance(doc, Mapping):
            continue
        items = doc.get("items") if str(doc.get("kind", "")).endswith("List") else None
        for obj in items if isinstance(items, list) else [doc]:
            if isinstance(obj, Mapping) and obj.get("kind"):
                found.append(_entry(obj, component, file))
    return found


def object_key(entry: Mapping[str, Any]) -> Key:
    """(apiVersion, kind, namespace, name) of a record's object entry."""
    return (entry["apiVersion"], entry["kind"], entry.get("namespace") or "", entry["name"])


class ObjectDiff(NamedTuple):
    """Objects of record B against record A; ``known`` is False when either record predates
    per-object digests (schema v1)."""

    added: tuple[dict[str, Any], ...] = ()
    removed: tuple[dict[str, Any], ...] = ()
    changed: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = ()  # (in A, in B)
    unchanged: int = 0
    known: bool = True

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "known": self.known,
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [{"a": a, "b": b} for a, b in self.changed],
            "unchanged": self.unchanged,
        }


def compare_objects(a: Mapping[str, Any], b: Mapping[str, Any]) -> ObjectDiff:
    """The objects added, removed and changed from record ``a`` to record ``b``."""
    if a.get("objects") is None or b.get("objects") is None:
        return ObjectDiff(known=False)
    before = {object_key(entry): entry for entry in a["objects"]}
    after = {object_key(entry): entry for entry in b["objects"]}
    changed = [
        (before[key], after[key])
        for key in sorted(before.keys() & after.keys())
        if before[key]["digest"] != after[key]["digest"]
    ]
    return ObjectDiff(
        added=tuple(after[key] for key in sorted(after.keys() - before.keys())),
        removed=tuple(before[key] for key in sorted(before.keys() - after.keys())),
        changed=tuple(changed),
        unchanged=len(before.keys() & after.keys()) - len(changed),
    )


class RecordDiff(NamedTuple):
    """Two records compared: component versions, images and objects."""

    components: tuple[dict[str, Any], ...] = ()  # {name, a, b}: what changed per component
    images: tuple[dict[str, Any], ...] = ()  # {container, a, b}: image changes per container
    objects: ObjectDiff = ObjectDiff()
    same_output: bool = False

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "components": list(self.components),
            "images": list(self.images),
            "objects": self.objects.to_data(),
            "sameOutput": self.same_output,
        }


_VERSION_FIELDS = ("version", "commit", "source", "branch", "chart")


def _changes(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], key: Any, value: Any
) -> tuple[dict[str, Any], ...]:
    before = {key(item): value(item) for item in a}
    after = {key(item): value(item) for item in b}
    return tuple(
        {"name": name, "a": before.get(name), "b": after.get(name)}
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    )


def compare_records(a: Mapping[str, Any], b: Mapping[str, Any]) -> RecordDiff:
    """What changed from record ``a`` to record ``b``."""
    digest_a = (a.get("output") or {}).get("digest")
    digest_b = (b.get("output") or {}).get("digest")
    return RecordDiff(
        components=_changes(
            a.get("components") or [],
            b.get("components") or [],
            lambda c: c["logicalPath"],
            lambda c: {f: c.get(f) for f in _VERSION_FIELDS if c.get(f) is not None},
        ),
        images=_changes(
            a.get("images") or [],
            b.get("images") or [],
            lambda i: f"{i['component']}/{i['kind']}/{i['workload']}/{i['container']}",
            lambda i: i["image"],
        ),
        objects=compare_objects(a, b),
        same_output=digest_a is not None and digest_a == digest_b,
    )

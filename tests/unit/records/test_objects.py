"""Per-object digests in records, and the object-level diff of two records."""

from __future__ import annotations

import hashlib
import json

from fabrikate.records.objects import (
    compare_objects,
    compare_records,
    object_digest,
    object_entries,
)

CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata: {k: v}\n"


def test_entries_and_digest_follow_the_canonical_json() -> None:
    reflowed = (
        "kind: ConfigMap\ndata:\n  k: v\nmetadata:\n  namespace: ns\n  name: a\napiVersion: v1\n"
    )
    [entry] = object_entries("app", "app.yaml", [CONFIG])
    canonical = json.dumps(
        {
            "apiVersion": "v1",
            "data": {"k": "v"},
            "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns"},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    assert entry == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "namespace": "ns",
        "name": "a",
        "digest": "sha256:" + hashlib.sha256(canonical.encode()).hexdigest(),
        "file": "app.yaml",
        "component": "app",
    }
    assert object_entries("app", "app.yaml", [reflowed]) == [entry]  # formatting is not content
    changed = CONFIG.replace("k: v", "k: w")
    assert object_entries("app", "app.yaml", [changed])[0]["digest"] != entry["digest"]


def test_lists_count_item_by_item_and_non_objects_are_skipped() -> None:
    listed = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Service, metadata: {name: s}}\n"
        "- {apiVersion: v1, kind: Secret, metadata: {name: t}}\n"
    )
    entries = object_entries("c", "c.yaml", [listed, "just text", "a: [b", "- 1\n", "{}"])
    assert [(e["kind"], e["name"], e["namespace"]) for e in entries] == [
        ("Service", "s", None),
        ("Secret", "t", None),
    ]
    assert object_digest({"b": 1, "a": 2}) == object_digest({"a": 2, "b": 1})


def _record(objects: list[dict] | None, **extra: object) -> dict:
    return {"objects": objects, **extra}


def test_compare_objects_added_removed_changed() -> None:
    def obj(kind: str, name: str, digest: str, ns: str | None = "ns") -> dict:
        return {
            "apiVersion": "v1",
            "kind": kind,
            "namespace": ns,
            "name": name,
            "digest": digest,
            "file": "f.yaml",
            "component": "c",
        }

    a = [
        obj("ConfigMap", "a", "sha256:1"),
        obj("Service", "s", "sha256:2"),
        obj("Namespace", "ns", "sha256:3", None),
    ]
    b = [
        obj("ConfigMap", "a", "sha256:9"),
        obj("Service", "s", "sha256:2"),
        obj("Secret", "t", "sha256:4"),
    ]
    diff = compare_objects(_record(a), _record(b))
    assert diff.added == (b[2],) and diff.removed == (a[2],)
    assert diff.changed == ((a[0], b[0]),) and diff.unchanged == 1 and diff.known
    data = diff.to_data()
    assert data["changed"] == [{"a": a[0], "b": b[0]}] and data["unchanged"] == 1
    same = compare_objects(_record(a), _record(list(reversed(a))))
    assert (same.added, same.removed, same.changed, same.unchanged) == ((), (), (), 3)


def test_v1_records_without_objects_are_unknown_not_empty() -> None:
    diff = compare_objects({"schema": "fabrikate.deployment-record/v1"}, _record([]))
    assert not diff.known and diff.to_data()["known"] is False


def test_compare_records_components_images_and_output() -> None:
    a = {
        "components": [
            {"logicalPath": "app/web", "version": "1.0", "commit": None},
            {"logicalPath": "app/db", "version": "2"},
        ],
        "images": [
            {
                "component": "app/web",
                "kind": "Deployment",
                "workload": "web",
                "container": "web",
                "image": "web:1.0",
            }
        ],
        "objects": [],
        "output": {"digest": "sha256:" + "a" * 64},
    }
    b = {
        "components": [
            {"logicalPath": "app/web", "version": "1.1"},
            {"logicalPath": "app/db", "version": "2"},
            {"logicalPath": "app/cache", "version": "7"},
        ],
        "images": [
            {
                "component": "app/web",
                "kind": "Deployment",
                "workload": "web",
                "container": "web",
                "image": "web:1.1",
            }
        ],
        "objects": [],
        "output": {"digest": "sha256:" + "b" * 64},
    }
    diff = compare_records(a, b)
    assert diff.components == (
        {"name": "app/cache", "a": None, "b": {"version": "7"}},
        {"name": "app/web", "a": {"version": "1.0"}, "b": {"version": "1.1"}},
    )
    assert diff.images == ({"name": "app/web/Deployment/web/web", "a": "web:1.0", "b": "web:1.1"},)
    assert not diff.same_output and compare_records(a, a).same_output
    assert compare_records(a, a).to_data()["components"] == []

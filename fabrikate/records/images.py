"""Container images in rendered manifests: every pod template of every workload kind.

    images = extract_images("app", parse_documents(documents))
    print([image["image"] for image in images])

Rather than knowing each workload kind's path to its pod spec, the walk looks for any mapping
with ``containers``, ``initContainers`` or ``ephemeralContainers``: that covers Pods,
Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, PodTemplates and custom
resources that embed a pod template.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import yaml

__all__ = ["CONTAINER_KEYS", "extract_images", "parse_documents", "parse_image"]

CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_image(image: str) -> dict[str, str | None]:
    """Split ``registry/repo:tag@sha256:…`` into repository, tag and digest."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = None
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    return {"repository": rest, "tag": tag, "digest": digest or None}


def _pod_specs(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping below ``node`` that holds container lists."""
    if isinstance(node, dict):
        if any(isinstance(node.get(key), list) for key in CONTAINER_KEYS):
            yield node
        for value in node.values():
            yield from _pod_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _pod_specs(value)


def _document_images(component: str, doc: Any) -> Iterator[dict[str, Any]]:
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    for spec in _pod_specs(doc):
        for key in CONTAINER_KEYS:
            containers = spec.get(key)
            if not isinstance(containers, list):
                continue
            for container in containers:
                if isinstance(container, dict) and isinstance(container.get("image"), str):
                    image = container["image"]
                    yield {
                        "component": component,
                        "kind": str(doc.get("kind") or ""),
                        "workload": str(metadata.get("name") or ""),
                        "container": str(container.get("name") or ""),
                        "containerType": key,
                        "image": image,
                        **parse_image(image),
                    }


def parse_documents(documents: Iterable[str]) -> list[Any]:
    """Each rendered document parsed (None for one that does not parse, or holds a value
    PyYAML cannot make, such as the date ``2020-02-30``)."""
    parsed = []
    for text in documents:
        try:
            parsed.append(_load(text))
        except (yaml.YAMLError, ValueError):
            parsed.append(None)  # a record describes output; it does not validate it
    return parsed


_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
_FANCY_KEYS = (_TAG + "merge", _TAG + "value")  # ``<<`` and ``=``: PyYAML's to flatten


class _Unusual(Exception):
    """A document the quick build leaves to PyYAML (merge keys, unhashable keys, cycles)."""


def _load(text: str) -> Any:
    """``yaml.load(text, SafeLoader)``, the same objects made faster: libyaml composes the
    nodes and the plain strings, maps and lists are built here (PyYAML's constructor costs
    more than the parse); every other tag is PyYAML's."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return _build(node, loader, {}) if node is not None else None
    except (_Unusual, RecursionError):
        return yaml.load(text, Loader=_Loader)
    finally:
        loader.dispose()


def _build(node: yaml.Node, loader: Any, made: dict[int, list[Any]]) -> Any:
    """The object of ``node``; ``made`` holds those of nodes met before (an alias is the same
    object, as PyYAML makes it; an empty entry is one under construction: a cycle)."""
    known = made.get(id(node))
    if known is not None:
        if not known:
            raise _Unusual
        return known[0]
    tag = node.tag
    if tag == _STR and isinstance(node, yaml.ScalarNode):
        return node.value
    value: Any
    if tag == _MAP and isinstance(node, yaml.MappingNode):
        made[id(node)] = []
        value = {}
        for key_node, value_node in node.value:
            if key_node.tag in _FANCY_KEYS:
                raise _Unusual
            key = _build(key_node, loader, made)
            try:
                value[key] = _build(value_node, loader, made)
            except TypeError:  # an unhashable key: PyYAML says so
                raise _Unusual from None
    elif tag == _SEQ and isinstance(node, yaml.SequenceNode):
        made[id(node)] = []
        value = [_build(item, loader, made) for item in node.value]
    else:
        value = loader.construct_object(node, deep=True)
    made[id(node)] = [value]
    return value


def extract_images(component: str, documents: Iterable[Any]) -> list[dict[str, Any]]:
    """The images of ``component``'s parsed documents (``parse_documents``), in document order."""
    found: list[dict[str, Any]] = []
    for doc in documents:
        if isinstance(doc, dict):
            found.extend(_document_images(component, doc))
    return found

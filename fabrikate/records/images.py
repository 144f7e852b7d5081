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

__all__ = ["CONTAINER_KEYS", "extract_images", "parse_documents", "parse_image"]

CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")


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
    """Each rendered document parsed as Go reads it (None for one that does not parse)."""
    import yaml  # only when a document is parsed: a run whose descriptions are cached never is

    from fabrikate.support.yamlv2 import load_untrusted

    parsed = []
    for text in documents:
        try:
            parsed.append(load_untrusted(text)[0])
        except yaml.YAMLError:
            parsed.append(None)  # a record describes output; it does not validate it
    return parsed


def extract_images(component: str, documents: Iterable[Any]) -> list[dict[str, Any]]:
    """The images of ``component``'s parsed documents (``parse_documents``), in document order."""
    found: list[dict[str, Any]] = []
    for doc in documents:
        if isinstance(doc, dict):
            found.extend(_document_images(component, doc))
    return found

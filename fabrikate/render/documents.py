"""YAML documents as text: split and join streams, and inject namespaces, keeping every byte
fab does not change.

    docs = split_documents(stream)
    docs = [inject_namespace(doc, "prod", cluster_scoped_kinds(docs)) for doc in docs]
    text = join_documents(docs)

Documents are text, each ending with a newline, with empty documents dropped. PyYAML is
imported by the functions that parse documents: a run served from the caches never needs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from fabrikate.errors import FabrikateError

if TYPE_CHECKING:
    from fabrikate.support.cache import Cache

__all__ = [
    "CLUSTER_SCOPED",
    "cluster_scoped_kinds",
    "inject_namespace",
    "join_documents",
    "split_documents",
]

# Kinds that live outside namespaces (kubectl api-resources --namespaced=false).
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersion",
        "StorageVersionMigration",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)

_SEPARATOR = re.compile(r"^---(?:[ \t]+(.*))?$")
_CONTENT = re.compile(r"^[ \t]*[^ \t#\r\n]", re.MULTILINE)


def split_documents(text: str) -> list[str]:
    """Split a YAML stream on ``---`` lines; drop empty and comment-only documents."""
    docs: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        match = _SEPARATOR.match(stripped)
        if match or stripped == "...":
            docs.append("".join(current))
            current = [match.group(1) + "\n"] if match and match.group(1) else []
        else:
            current.append(line)
    docs.append("".join(current))
    return [doc if doc.endswith("\n") else doc + "\n" for doc in docs if _CONTENT.search(doc)]


def join_documents(docs: Iterable[str]) -> str:
    """One YAML stream: every document after a ``---`` line."""
    return "".join(f"---\n{doc}" for doc in docs)


def cluster_scoped_kinds(docs: Iterable[str], cache: Cache | None = None) -> frozenset[str]:
    """The built-in cluster-scoped kinds plus those of cluster-scoped CRDs among ``docs``
    (each CRD's scope remembered in ``cache`` by its text)."""
    kinds = set(CLUSTER_SCOPED)
    for doc in docs:
        if "CustomResourceDefinition" in doc:
            kind = _cluster_kind(doc, cache)
            if kind:
                kinds.add(kind)
    return frozenset(kinds)


# What a cache entry of ``_cluster_kind`` may hold (the cache is untrusted): a kind, or nothing.
_KIND = re.compile(r"[A-Za-z][-A-Za-z0-9_.]{0,252}")


def _cluster_kind(doc: str, cache: Cache | None) -> str | None:
    """The kind ``doc`` defines when it is a cluster-scoped CRD, else None."""
    from fabrikate._version import __version__
    from fabrikate.support.cache import digest

    key = digest("crd-scope", __version__, doc)
    known = cache.get("inject", key) if cache is not None else None
    if known is not None and (not known or _KIND.fullmatch(known.decode("ascii", "replace"))):
        return known.decode("ascii") or None
    kind = _parsed_cluster_kind(doc)
    if cache is not None and (kind is None or _KIND.fullmatch(kind)):
        cache.put("inject", key, (kind or "").encode())
    return kind


def _parsed_cluster_kind(doc: str) -> str | None:
    import yaml

    from fabrikate.support.yamlv2 import load_untrusted

    try:
        data, _ = load_untrusted(doc)
    except yaml.YAMLError:
        return None
    if isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition":
        spec = data.get("spec") or {}
        if isinstance(spec, dict) and spec.get("scope") == "Cluster":
            names = spec.get("names")
            kind = names.get("kind") if isinstance(names, dict) else None
            if isinstance(kind, str):
                return kind
    return None


def inject_namespace(doc: str, namespace: str, cluster_scoped: Collection[str]) -> str:
    """Add ``metadata.namespace`` to a namespaced object lacking one; change nothing else.

    The text is edited in place, so comments, key order and quoting are kept.
    """
    import yaml

    from fabrikate.support.yamlv2 import BASE_LOADER, problem

    try:
        root = yaml.compose(doc, Loader=BASE_LOADER)
    except yaml.YAMLError as exc:
        text = problem(exc)[0]
        raise FabrikateError(f"cannot inject namespace into an invalid document: {text}") from exc
    if not isinstance(root, yaml.MappingNode):
        return doc
    fields = {key.value: value for key, value in root.value if isinstance(key, yaml.ScalarNode)}
    kind = fields.get("kind")
    if isinstance(kind, yaml.ScalarNode) and kind.value in cluster_scoped:
        return doc
    metadata = fields.get("metadata")
    if not isinstance(metadata, yaml.MappingNode):
        return doc
    entries = {k.value: (k, v) for k, v in metadata.value if isinstance(k, yaml.ScalarNode)}
    value = _quote(namespace)
    if "namespace" in entries:
        key, current = entries["namespace"]
        if not (isinstance(current, yaml.ScalarNode) and current.tag.endswith(":null")):
            return doc
        if current.start_mark.index == current.end_mark.index:  # `namespace:` with no value
            at = key.end_mark.index
            colon = doc.index(":", at)
            return doc[: colon + 1] + " " + value + doc[colon + 1 :]
        return doc[: current.start_mark.index] + value + doc[current.end_mark.index :]
    if metadata.flow_style or not metadata.value:  # `{...}`: the entry goes first, after `{`
        brace = doc.index("{", metadata.start_mark.index)
        entry = f"namespace: {value}" + (", " if metadata.value else "")
        return doc[: brace + 1] + entry + doc[brace + 1 :]
    anchor_key, anchor_value = entries.get("name", metadata.value[0])
    indent = anchor_key.start_mark.column
    if (
        isinstance(anchor_value, yaml.ScalarNode)
        and anchor_value.start_mark.line == anchor_value.end_mark.line
    ):
        line_end = doc.find("\n", anchor_value.end_mark.index)
        at = len(doc) if line_end < 0 else line_end + 1
    else:
        at = anchor_key.start_mark.index - indent
    return doc[:at] + " " * indent + f"namespace: {value}\n" + doc[at:]


def _quote(value: str) -> str:
    """``value`` as a YAML scalar that every reader, Go's or PyYAML's, reads as the same string."""
    import yaml

    from fabrikate.support.yamlv2 import Loader

    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value) is not None and all(
        resolver.resolve(yaml.ScalarNode, value, (True, False)) == "tag:yaml.org,2002:str"
        # PyYAML's own resolver, not a pure-Python SafeLoader: that would compile its reader pattern
        for resolver in (yaml.resolver.Resolver(), Loader(""))
    )
    return value if plain else json.dumps(value)

"""Kubernetes API versions that were deprecated and removed, with their replacements.

    change = removal("extensions/v1beta1", "Deployment")
    change.removed, change.replacement        # (1, 16), "apps/v1"

From the Kubernetes deprecated API migration guide, as pluto and kubent publish it. An object
of a removed API is not served by the target cluster: the API server refuses it, so a
manifest repository holding one cannot be applied.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Removal", "removal"]


@dataclass(frozen=True)
class Removal:
    """When an API version of a kind went away, and what to use instead."""

    deprecated: tuple[int, int]
    removed: tuple[int, int]
    replacement: str  # an apiVersion, or what to do when nothing replaces it


_APPS = "apps/v1"
_RBAC = "rbac.authorization.k8s.io/v1"
_STORAGE = "storage.k8s.io/v1"
_FLOW = "flowcontrol.apiserver.k8s.io/v1"

# (apiVersions, kinds, deprecated in, removed in, replacement)
_TABLE: tuple[tuple[tuple[str, ...], tuple[str, ...], str, str, str], ...] = (
    (("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"), ("Deployment",), "1.9", "1.16", _APPS),
    (("apps/v1beta1", "apps/v1beta2"), ("StatefulSet",), "1.9", "1.16", _APPS),
    (("extensions/v1beta1", "apps/v1beta2"), ("DaemonSet",), "1.9", "1.16", _APPS),
    (("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"), ("ReplicaSet",), "1.9", "1.16", _APPS),
    (("extensions/v1beta1",), ("NetworkPolicy",), "1.9", "1.16", "networking.k8s.io/v1"),
    (("extensions/v1beta1",), ("PodSecurityPolicy",), "1.10", "1.16", "policy/v1beta1"),
    (("extensions/v1beta1", "networking.k8s.io/v1beta1"), ("Ingress",), "1.14", "1.22",
     "networking.k8s.io/v1"),
    (("networking.k8s.io/v1beta1",), ("IngressClass",), "1.19", "1.22", "networking.k8s.io/v1"),
    (("scheduling.k8s.io/v1alpha1",), ("PriorityClass",), "1.14", "1.17", "scheduling.k8s.io/v1"),
    (("scheduling.k8s.io/v1beta1",), ("PriorityClass",), "1.14", "1.22", "scheduling.k8s.io/v1"),
    (("apiextensions.k8s.io/v1beta1",), ("CustomResourceDefinition",), "1.16", "1.22",
     "apiextensions.k8s.io/v1"),
    (("admissionregistration.k8s.io/v1beta1",),
     ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"), "1.16", "1.22",
     "admissionregistration.k8s.io/v1"),
    (("rbac.authorization.k8s.io/v1alpha1", "rbac.authorization.k8s.io/v1beta1"),
     ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"), "1.17", "1.22", _RBAC),
    (("apiregistration.k8s.io/v1beta1",), ("APIService",), "1.10", "1.22",
     "apiregistration.k8s.io/v1"),
    (("authentication.k8s.io/v1beta1",), ("TokenReview",), "1.6", "1.22",
     "authentication.k8s.io/v1"),
    (("authorization.k8s.io/v1beta1",),
     ("SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview"), "1.19",
     "1.22", "authorization.k8s.io/v1"),
    (("certificates.k8s.io/v1beta1",), ("CertificateSigningRequest",), "1.19", "1.22",
     "certificates.k8s.io/v1"),
    (("coordination.k8s.io/v1beta1",), ("Lease",), "1.14", "1.22", "coordination.k8s.io/v1"),
    (("storage.k8s.io/v1beta1",), ("CSINode",), "1.17", "1.22", _STORAGE),
    (("storage.k8s.io/v1beta1",), ("CSIDriver",), "1.19", "1.22", _STORAGE),
    (("storage.k8s.io/v1beta1",), ("StorageClass",), "1.6", "1.22", _STORAGE),
    (("storage.k8s.io/v1beta1",), ("VolumeAttachment",), "1.13", "1.22", _STORAGE),
    (("batch/v1beta1",), ("CronJob",), "1.21", "1.25", "batch/v1"),
    (("discovery.k8s.io/v1beta1",), ("EndpointSlice",), "1.21", "1.25", "discovery.k8s.io/v1"),
    (("events.k8s.io/v1beta1",), ("Event",), "1.19", "1.25", "events.k8s.io/v1"),
    (("autoscaling/v2beta1",), ("HorizontalPodAutoscaler",), "1.22", "1.25", "autoscaling/v2"),
    (("policy/v1beta1",), ("PodDisruptionBudget",), "1.21", "1.25", "policy/v1"),
    (("policy/v1beta1",), ("PodSecurityPolicy",), "1.21", "1.25",
     "nothing (use Pod Security Admission)"),
    (("node.k8s.io/v1beta1",), ("RuntimeClass",), "1.22", "1.25", "node.k8s.io/v1"),
    (("autoscaling/v2beta2",), ("HorizontalPodAutoscaler",), "1.23", "1.26", "autoscaling/v2"),
    (("flowcontrol.apiserver.k8s.io/v1beta1",), ("FlowSchema", "PriorityLevelConfiguration"),
     "1.23", "1.26", _FLOW),
    (("storage.k8s.io/v1beta1",), ("CSIStorageCapacity",), "1.24", "1.27", _STORAGE),
    (("flowcontrol.apiserver.k8s.io/v1beta2",), ("FlowSchema", "PriorityLevelConfiguration"),
     "1.26", "1.29", _FLOW),
    (("flowcontrol.apiserver.k8s.io/v1beta3",), ("FlowSchema", "PriorityLevelConfiguration"),
     "1.29", "1.32", _FLOW),
)  # fmt: skip


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


_REMOVALS = {
    (api, kind): Removal(_version(deprecated), _version(removed), replacement)
    for apis, kinds, deprecated, removed, replacement in _TABLE
    for api in apis
    for kind in kinds
}


def removal(api_version: str, kind: str) -> Removal | None:
    """When ``kind`` in ``api_version`` was deprecated and removed; None when it never was."""
    return _REMOVALS.get((api_version, kind))

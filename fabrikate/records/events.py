"""Cluster truth: events from the GitOps agents (Flux, Argo CD), and user marks on records.

    event = parse_flux(body, request.headers, secret="shared-token")
    store.add_event(event)          # idempotent: the id is a hash of the content

A Flux notification-controller ``Provider`` of type ``generic`` or ``generic-hmac`` (header
``X-Signature: sha256=<hex HMAC-SHA256 of the body>``) posts one event per JSON body; an Argo CD
notifications webhook posts the template documented in the README (``Authorization: Bearer
<secret>``, or the same ``X-Signature`` header). Flux does not send the Ready condition, so the
state is inferred: an error is ``failed``; a finished reconciliation (Ready) or a passed health
check is ``healthy``; a change set, an install or an upgrade is ``applied``; anything else is
``progressing``. Argo CD's sync and health status say it directly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from fabrikate.errors import EventError

__all__ = [
    "EVENT_STATES",
    "MARK_KINDS",
    "ClusterEvent",
    "Mark",
    "check_signature",
    "parse_argocd",
    "parse_flux",
    "revision_sha",
]

EVENT_STATES = ("applied", "healthy", "failed", "progressing")
MARK_KINDS = ("failed", "hotfix", "rollback")
MAX_BODY = 1024 * 1024  # an event is a few kilobytes; more is not an event

_SHA = re.compile(r"(?:^|[@:/])([0-9a-f]{40}|[0-9a-f]{64})$")
# Flux reasons (fluxcd/pkg/apis/meta and the controllers' own) by the state they mean.
_HEALTHY = {"ReconciliationSucceeded", "HealthCheckSucceeded", "Succeeded", "TestSucceeded"}
_APPLIED = {"InstallSucceeded", "UpgradeSucceeded", "RollbackSucceeded", "ApplySucceeded"}
_HEALTH_PASSED = re.compile(r"^health check passed", re.IGNORECASE)
# kustomize-controller's change set: one "Kind/namespace/name configured" line per object.
_CHANGE_SET = re.compile(r"^\S+/\S+ (created|configured|unchanged|deleted)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """One thing a cluster's GitOps agent reported about one object at one revision."""

    id: str  # a hash of everything else: the same event posted twice has the same id
    source: str  # "flux" | "argocd"
    cluster: str | None
    ring: str | None
    environment: str | None
    kind: str
    namespace: str | None
    name: str
    revision: str | None  # the full manifest commit SHA the agent applied
    state: str  # one of EVENT_STATES
    reason: str | None
    message: str | None
    at: str  # UTC ISO-8601

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data (``from_data`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ClusterEvent:
        """The event ``to_data`` wrote."""
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        return cls(**values)

    @classmethod
    def make(cls, **values: Any) -> ClusterEvent:
        """An event with its content-hash id."""
        if values.get("state") not in EVENT_STATES:
            raise EventError(f"unknown event state {values.get('state')!r}")
        canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
        return cls(id=hashlib.sha256(canonical.encode()).hexdigest()[:32], **values)


@dataclass(frozen=True, slots=True)
class Mark:
    """A user's verdict on a record: ``failed``, ``hotfix`` or ``rollback``, with a note."""

    record_id: str
    kind: str  # one of MARK_KINDS
    note: str = ""
    by: str | None = None
    at: str | None = None  # UTC ISO-8601


def revision_sha(revision: str | None) -> str | None:
    """The commit SHA in a Flux or Argo CD revision (``main@sha1:<hex>``, ``main/<hex>``,
    ``sha1:<hex>`` or bare ``<hex>``), lower case; None when it names none."""
    if not revision:
        return None
    match = _SHA.search(revision.strip().lower())
    return match.group(1) if match else None


def check_signature(body: bytes, headers: Mapping[str, str], secret: str | None) -> None:
    """With a secret, the body must carry its HMAC (``X-Signature``) or bearer token."""
    if secret is None:
        return
    lower = {key.lower(): value for key, value in headers.items()}
    signature = lower.get("x-signature")
    if signature is not None:
        algorithm, _, given = signature.partition("=")
        if algorithm.strip().lower() != "sha256":
            raise EventError(f"unsupported signature algorithm {algorithm.strip()[:20]!r}")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            raise EventError("the X-Signature does not match the body")
        return
    scheme, _, token = lower.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise EventError("the event is not signed (want X-Signature or a bearer token)")
    if not hmac.compare_digest(token.strip().encode(), secret.encode()):
        raise EventError("the bearer token does not match")


def _json(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise EventError(f"the event is too large ({len(body)} bytes, limit {MAX_BODY})")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(f"the event is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EventError("the event must be a JSON object")
    return data


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise EventError(f"the event has no {key!r}")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise EventError(f"the event's {key!r} must be a string")
    return str(value)


def _time(text: str | None, key: str) -> str:
    if text is None:
        raise EventError(f"the event has no {key!r}")
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise EventError(f"the event's {key!r} is not an ISO-8601 time: {text[:40]!r}") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


def _flux_state(severity: str | None, reason: str | None, message: str | None) -> str:
    if (severity or "").lower() == "error":
        return "failed"
    if reason in _HEALTHY or _HEALTH_PASSED.match(message or ""):
        return "healthy"
    applied = reason in _APPLIED or _CHANGE_SET.search(message or "")
    return "applied" if applied else "progressing"


def parse_flux(body: bytes, headers: Mapping[str, str], secret: str | None) -> ClusterEvent:
    """The event a Flux notification-controller ``generic``/``generic-hmac`` provider posted."""
    check_signature(body, headers, secret)
    data = _json(body)
    obj = data.get("involvedObject")
    if not isinstance(obj, dict):
        raise EventError("the event has no 'involvedObject'")
    meta = data.get("metadata") or {}
    if not isinstance(meta, dict):
        raise EventError("the event's 'metadata' must be an object")
    revision = next((v for k, v in meta.items() if k.split("/")[-1] == "revision"), None)
    reason, message = _text(data, "reason"), _text(data, "message")
    return ClusterEvent.make(
        source="flux",
        cluster=_text(meta, "cluster"),
        ring=_text(meta, "ring"),
        environment=_text(meta, "environment"),
        kind=_text(obj, "kind", required=True),
        namespace=_text(obj, "namespace"),
        name=_text(obj, "name", required=True),
        revision=revision_sha(revision if isinstance(revision, str) else None),
        state=_flux_state(_text(data, "severity"), reason, message),
        reason=reason,
        message=message,
        at=_time(_text(data, "timestamp"), "timestamp"),
    )


def _argocd_state(sync: str | None, health: str | None, phase: str | None) -> str:
    if health == "Degraded" or phase in {"Failed", "Error"}:
        return "failed"
    if sync == "Synced" and health == "Healthy":
        return "healthy"
    if sync == "Synced" and health != "Progressing":
        return "applied"
    return "progressing"


def parse_argocd(body: bytes, headers: Mapping[str, str], secret: str | None) -> ClusterEvent:
    """The event an Argo CD notifications webhook posted with the README's template."""
    check_signature(body, headers, secret)
    data = _json(body)
    sync, health = _text(data, "syncStatus"), _text(data, "healthStatus")
    phase = _text(data, "operationPhase")
    if sync is None and health is None:
        raise EventError("the event has neither 'syncStatus' nor 'healthStatus'")
    return ClusterEvent.make(
        source="argocd",
        cluster=_text(data, "cluster"),
        ring=_text(data, "ring"),
        environment=_text(data, "environment"),
        kind="Application",
        namespace=_text(data, "namespace"),
        name=_text(data, "app", required=True),
        revision=revision_sha(_text(data, "revision")),
        state=_argocd_state(sync, health, phase),
        reason=f"{sync or 'Unknown'}/{health or 'Unknown'}",
        message=_text(data, "message"),
        at=_time(_text(data, "at"), "at"),
    )

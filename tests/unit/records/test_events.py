"""Flux and Argo CD events, replayed from their documented payload shapes, signed and not."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from fabrikate.errors import EventError
from fabrikate.records.events import ClusterEvent, parse_argocd, parse_flux, revision_sha

SHA = "802723078affd3eb2a3898630261ab3ca5d6dd40"
SECRET = "s3cret-token"


def flux(**changes: object) -> dict:
    """A notification-controller event as the generic provider posts it (Flux docs)."""
    event = {
        "involvedObject": {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "name": "apps",
            "namespace": "flux-system",
            "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
        },
        "severity": "info",
        "timestamp": "2023-08-16T10:26:43Z",
        "message": "Reconciliation finished in 436.493292ms, next run in 10m0s",
        "reason": "ReconciliationSucceeded",
        "metadata": {
            "kustomize.toolkit.fluxcd.io/revision": f"main@sha1:{SHA}",
            "cluster": "east-1",
            "ring": "prod",
        },
        "reportingController": "kustomize-controller",
        "reportingInstance": "kustomize-controller-7f5c8d9b6-x2x7q",
    }
    event.update(changes)
    return event


def body(data: dict) -> bytes:
    return json.dumps(data).encode()


def signed(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Signature": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}


def test_flux_generic_hmac_event_is_parsed_and_verified() -> None:
    raw = body(flux())
    event = parse_flux(raw, signed(raw), SECRET)
    assert event == ClusterEvent(
        id=event.id,
        source="flux",
        cluster="east-1",
        ring="prod",
        environment=None,
        kind="Kustomization",
        namespace="flux-system",
        name="apps",
        revision=SHA,
        state="healthy",
        reason="ReconciliationSucceeded",
        message="Reconciliation finished in 436.493292ms, next run in 10m0s",
        at="2023-08-16T10:26:43+00:00",
    )
    assert ClusterEvent.from_data(json.loads(json.dumps(event.to_data()))) == event


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "not signed"),
        ({"X-Signature": "sha256=" + "0" * 64}, "does not match"),
        ({"x-signature": "sha1=abc"}, "unsupported signature algorithm"),
    ],
)
def test_flux_bad_or_missing_signature_is_refused(headers: dict, message: str) -> None:
    with pytest.raises(EventError, match=message):
        parse_flux(body(flux()), headers, SECRET)


def test_a_signature_of_other_bytes_or_by_another_key_is_refused() -> None:
    raw = body(flux())
    with pytest.raises(EventError, match="does not match"):
        parse_flux(raw, signed(raw, "other-key"), SECRET)
    with pytest.raises(EventError, match="does not match"):
        parse_flux(raw + b" ", signed(raw), SECRET)  # one byte more than was signed


def test_flux_generic_provider_needs_no_signature() -> None:
    assert parse_flux(body(flux()), {}, None).state == "healthy"


def test_ids_are_content_hashes_so_replays_are_idempotent() -> None:
    once = parse_flux(body(flux()), {}, None)
    key_order = json.dumps(dict(reversed(list(flux().items())))).encode()
    assert parse_flux(key_order, {}, None).id == once.id
    later = parse_flux(body(flux(timestamp="2023-08-16T10:36:43Z")), {}, None)
    assert later.id != once.id


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"severity": "error", "reason": "HealthCheckFailed", "message": "timeout"}, "failed"),
        ({"severity": "error", "reason": "BuildFailed"}, "failed"),
        ({"reason": "Progressing", "message": "Health check passed in 2.1s"}, "healthy"),
        (
            {
                "reason": "Progressing",
                "message": "Deployment/trivia/web configured\nService/trivia/web created",
            },
            "applied",
        ),
        ({"reason": "UpgradeSucceeded", "message": "Helm upgrade succeeded"}, "applied"),
        (
            {"reason": "DependencyNotReady", "message": "dependency 'infra' is not ready"},
            "progressing",
        ),
    ],
)
def test_flux_state_is_inferred_from_severity_and_reason(changes: dict, state: str) -> None:
    assert parse_flux(body(flux(**changes)), {}, None).state == state


@pytest.mark.parametrize(
    ("revision", "sha"),
    [
        (f"main@sha1:{SHA}", SHA),
        (f"main/{SHA}", SHA),  # Flux before 2.0
        (f"sha1:{SHA.upper()}", SHA),
        (SHA, SHA),
        ("v1.2.3@sha256:" + "a" * 64, "a" * 64),
        ("main", None),
        ("", None),
    ],
)
def test_revision_forms(revision: str, sha: str | None) -> None:
    assert revision_sha(revision) == sha


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff\xfe", "not JSON"),
        (body({"severity": "info"}), "no 'involvedObject'"),
        (body(flux(involvedObject={"kind": "Kustomization"})), "no 'name'"),
        (body(flux(timestamp="yesterday")), "not an ISO-8601 time"),
        (body(flux(timestamp=None)), "no 'timestamp'"),
        (body(flux(metadata=["x"])), "'metadata' must be an object"),
        (body(flux(message={"a": 1})), "'message' must be a string"),
        (b" " * (1024 * 1024 + 1), "too large"),
    ],
)
def test_malformed_flux_events_raise_one_line(raw: bytes, message: str) -> None:
    with pytest.raises(EventError, match=message) as caught:
        parse_flux(raw, {}, None)
    assert "\n" not in str(caught.value)


def argocd(**changes: object) -> dict:
    """What the README's Argo CD notifications template posts."""
    event = {
        "app": "trivia-prod",
        "namespace": "trivia",
        "cluster": "west-2",
        "ring": "prod",
        "environment": "prod",
        "revision": SHA,
        "syncStatus": "Synced",
        "healthStatus": "Healthy",
        "operationPhase": "Succeeded",
        "message": "successfully synced (all tasks run)",
        "at": "2024-05-01T12:00:00Z",
    }
    event.update(changes)
    return event


def test_argocd_webhook_with_bearer_token() -> None:
    raw = body(argocd())
    event = parse_argocd(raw, {"Authorization": f"Bearer {SECRET}"}, SECRET)
    assert (event.source, event.kind, event.name, event.cluster) == (
        "argocd",
        "Application",
        "trivia-prod",
        "west-2",
    )
    assert (event.revision, event.state, event.reason) == (SHA, "healthy", "Synced/Healthy")
    assert parse_argocd(raw, signed(raw), SECRET) == event  # an HMAC works as well
    with pytest.raises(EventError, match="bearer token does not match"):
        parse_argocd(raw, {"Authorization": "Bearer wrong"}, SECRET)
    with pytest.raises(EventError, match="not signed"):
        parse_argocd(raw, {"Authorization": f"Basic {SECRET}"}, SECRET)


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"healthStatus": "Degraded"}, "failed"),
        ({"operationPhase": "Failed", "healthStatus": "Healthy"}, "failed"),
        ({"healthStatus": "Progressing"}, "progressing"),
        ({"syncStatus": "OutOfSync", "healthStatus": "Healthy"}, "progressing"),
        ({"healthStatus": "Missing"}, "applied"),
    ],
)
def test_argocd_state_from_sync_and_health(changes: dict, state: str) -> None:
    assert parse_argocd(body(argocd(**changes)), {}, None).state == state


def test_malformed_argocd_events() -> None:
    with pytest.raises(EventError, match="neither 'syncStatus' nor 'healthStatus'"):
        parse_argocd(body(argocd(syncStatus="", healthStatus=None)), {}, None)
    with pytest.raises(EventError, match="no 'app'"):
        parse_argocd(body(argocd(app="")), {}, None)
    with pytest.raises(EventError, match="no 'at'"):
        parse_argocd(body(argocd(at="")), {}, None)


def test_unknown_state_is_refused() -> None:
    with pytest.raises(EventError, match="unknown event state 'synced'"):
        ClusterEvent.make(source="x", state="synced")

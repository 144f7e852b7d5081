"""Flux and Argo CD events posted to the ingest endpoints (their documented payload shapes, with
good and bad signatures), and marks posted with the write token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from starlette.testclient import TestClient

from fabrikate.api.records import MAX_NOTE
from fabrikate.dashboard.settings import DashboardSettings, Secret
from tests.integration.dashboard.conftest import Seeded, client
from tests.unit.records.test_events import argocd, body, flux, signed

INGEST, WRITE = "ingest-s3cret", "write-t0ken"


@pytest.fixture
def writer(seeded: Seeded) -> Iterator[TestClient]:
    """The dashboard with an ingest secret and a write token, over each store kind."""
    settings = DashboardSettings(
        records=seeded.url,
        ingest_secret=Secret(INGEST),
        write_token=Secret(WRITE),
        poll_seconds=0.2,
    )
    yield from client(settings)


def _flux_for(seeded: Seeded, label: str, **changes: object) -> bytes:
    commit = seeded.records[label]["manifest"]["commit"]
    meta = {"kustomize.toolkit.fluxcd.io/revision": f"main@sha1:{commit}", "cluster": "north"}
    return body(flux(metadata=meta, **changes))


def test_a_signed_flux_event_is_stored_once(writer: TestClient, seeded: Seeded) -> None:
    raw = _flux_for(seeded, "api-3")
    first = writer.post("/api/v1/ingest/flux", content=raw, headers=signed(raw, INGEST))
    assert first.status_code == 201 and first.json()["stored"] is True
    again = writer.post("/api/v1/ingest/flux", content=raw, headers=signed(raw, INGEST))
    assert again.status_code == 200 and again.json() == {"stored": False, "id": first.json()["id"]}
    # The cluster is known now, and the record it applied shows it.
    assert (
        writer.get("/api/v1/clusters/north").json()["revision"]
        == seeded.records["api-3"]["manifest"]["commit"]
    )
    summary = writer.get(f"/api/v1/deployments/{seeded.ids['api-3']}").json()["summary"]
    assert summary["clusters"]["north"] == "healthy"


def test_a_failed_reconciliation_marks_the_record_failed(
    writer: TestClient, seeded: Seeded
) -> None:
    raw = _flux_for(
        seeded, "api-2", severity="error", reason="HealthCheckFailed", message="timeout"
    )
    assert (
        writer.post("/api/v1/ingest/flux", content=raw, headers=signed(raw, INGEST)).status_code
        == 201
    )
    data = writer.get(f"/api/v1/deployments/{seeded.ids['api-2']}").json()
    assert data["summary"]["state"] == "failed" and data["failing"]["cluster"] == "north"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Signature": "sha256=" + "0" * 64},
        {"Authorization": "Bearer wrong"},
        {"X-Signature": "md5=00"},
    ],
    ids=["unsigned", "bad-hmac", "bad-bearer", "bad-algorithm"],
)
def test_bad_signatures_are_401_and_store_nothing(
    writer: TestClient, seeded: Seeded, headers: dict
) -> None:
    raw = _flux_for(seeded, "api-3")
    answer = writer.post("/api/v1/ingest/flux", content=raw, headers=headers)
    assert answer.status_code == 401 and "error" in answer.json()
    assert writer.get("/api/v1/clusters/north").status_code == 404


def test_a_signed_but_malformed_event_is_400(writer: TestClient) -> None:
    for raw in (b"not json", b"[]", body({"involvedObject": {"kind": "X"}})):
        answer = writer.post("/api/v1/ingest/flux", content=raw, headers=signed(raw, INGEST))
        assert answer.status_code == 400, raw
        assert answer.json()["status"] == 400


def test_argocd_webhook_with_the_bearer_secret(writer: TestClient, seeded: Seeded) -> None:
    commit = seeded.records["web-3"]["manifest"]["commit"]
    raw = body(argocd(revision=commit, cluster="south"))
    answer = writer.post(
        "/api/v1/ingest/argocd", content=raw, headers={"Authorization": f"Bearer {INGEST}"}
    )
    assert answer.status_code == 201
    assert writer.get("/api/v1/clusters/south").json()["health"]["state"] == "healthy"
    assert writer.post("/api/v1/ingest/nope", content=raw).status_code == 404


def test_without_secrets_writing_is_off(web: TestClient, seeded: Seeded) -> None:
    raw = _flux_for(seeded, "api-3")
    assert (
        web.post("/api/v1/ingest/flux", content=raw, headers=signed(raw, INGEST)).status_code == 403
    )
    mark = web.post(f"/api/v1/records/{seeded.ids['api-3']}/marks", json={"kind": "hotfix"})
    assert mark.status_code == 403


def test_marks_need_the_write_token(writer: TestClient, seeded: Seeded) -> None:
    path = f"/api/v1/records/{seeded.ids['api-3']}/marks"
    auth = {"Authorization": f"Bearer {WRITE}"}
    assert writer.post(path, json={"kind": "hotfix"}).status_code == 401
    assert (
        writer.post(
            path, json={"kind": "hotfix"}, headers={"Authorization": f"Bearer {INGEST}"}
        ).status_code
        == 401
    )
    made = writer.post(path, json={"kind": "rollback", "note": "reverted 1.2.0"}, headers=auth)
    assert made.status_code == 201 and made.json()["recordId"] == seeded.ids["api-3"]
    assert datetime.fromisoformat(made.json()["at"]).microsecond == 0  # whole seconds
    marks = writer.get(f"/api/v1/deployments/{seeded.ids['api-3']}").json()["marks"]
    assert [(m["kind"], m["note"]) for m in marks] == [("rollback", "reverted 1.2.0")]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"kind": "oops"}, 400),
        ({"kind": "failed", "note": 3}, 400),
        ({"kind": "failed", "x": 1}, 400),
        ({"kind": 3}, 400),
        ({"kind": "failed", "note": "x" * (MAX_NOTE + 1)}, 400),  # the CLI's rule too
        ([], 400),
    ],
)
def test_bad_marks_are_400(
    writer: TestClient, seeded: Seeded, payload: object, status: int
) -> None:
    path = f"/api/v1/records/{seeded.ids['api-3']}/marks"
    answer = writer.post(path, json=payload, headers={"Authorization": f"Bearer {WRITE}"})
    assert answer.status_code == status and "error" in answer.json()


def test_a_mark_on_an_unknown_record_is_404(writer: TestClient) -> None:
    answer = writer.post(
        "/api/v1/records/abcdef123456/marks",
        json={"kind": "failed"},
        headers={"Authorization": f"Bearer {WRITE}"},
    )
    assert answer.status_code == 404 and "no record" in answer.json()["error"]


def test_an_oversized_body_is_refused_unread(writer: TestClient) -> None:
    raw = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    answer = writer.post("/api/v1/ingest/flux", content=raw, headers=signed(raw, INGEST))
    assert answer.status_code == 400 and "too large" in answer.json()["error"]
    login = writer.post("/login", content=b"token=" + b"x" * 10000)
    assert login.status_code == 400

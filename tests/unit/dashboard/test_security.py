"""Who may read, and the headers on every answer (the middleware alone, over a tiny app)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from fabrikate.dashboard.security import COOKIE, CSP, Guard, session_value
from fabrikate.dashboard.settings import DashboardSettings, Secret
from fabrikate.errors import InputError


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse(
        {"user": request.scope["state"]["user"], "header": request.headers.get("x-user")}
    )


def client(settings: DashboardSettings, host: str = "127.0.0.1") -> TestClient:
    app = Starlette(routes=[Route(p, whoami) for p in ("/", "/api/v1/x", "/healthz", "/events")])
    return TestClient(Guard(app, settings), client=(host, 5000), follow_redirects=False)


def test_every_answer_carries_the_security_headers() -> None:
    for path in ("/", "/healthz", "/api/v1/x"):
        response = client(DashboardSettings()).get(path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CSP
        assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP
        assert "script-src 'self'" in CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"


def test_open_without_a_token_or_proxy() -> None:
    assert client(DashboardSettings()).get("/api/v1/x").json() == {"user": None, "header": None}


def test_bearer_token_guards_reading() -> None:
    settings = DashboardSettings(auth_token=Secret("s3cret-token"))
    web = client(settings)
    denied = web.get("/api/v1/x")
    assert denied.status_code == 401
    assert denied.json() == {"error": "authentication required", "status": 401}
    assert web.get("/api/v1/x", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = web.get("/api/v1/x", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    assert web.get("/healthz").status_code == 200  # a load balancer's check needs no token
    assert web.get("/events").status_code == 401


def test_a_browser_is_sent_to_log_in_and_then_carries_a_derived_cookie() -> None:
    token = Secret("s3cret-token")
    web = client(DashboardSettings(auth_token=token))
    page = web.get("/?ring=prod")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F%3Fring%3Dprod"
    assert session_value(token) != token.value
    web.cookies.set(COOKIE, session_value(token))
    assert web.get("/").status_code == 200
    web.cookies.set(COOKIE, "forged")
    assert web.get("/").status_code == 303


def test_the_user_header_counts_only_from_the_trusted_proxy() -> None:
    settings = DashboardSettings(trusted_proxy="10.1.0.0/16", user_header="X-User")
    proxied = client(settings, host="10.1.2.3").get("/api/v1/x", headers={"X-User": "ana"})
    assert proxied.json() == {"user": "ana", "header": None}  # routes see the checked user only
    # The same header from anywhere else is dropped, and without a user nobody reads.
    direct = client(settings, host="192.0.2.7").get("/api/v1/x", headers={"X-User": "ana"})
    assert direct.status_code == 401
    assert client(settings, host="10.1.2.3").get("/api/v1/x").status_code == 401


def test_proxy_and_token_together_let_either_in() -> None:
    settings = DashboardSettings(
        auth_token=Secret("tok-12345"), trusted_proxy="127.0.0.1/32", user_header="X-User"
    )
    web = client(settings, host="192.0.2.7")
    assert web.get("/api/v1/x", headers={"Authorization": "Bearer tok-12345"}).status_code == 200
    assert web.get("/api/v1/x", headers={"X-User": "ana"}).status_code == 401


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"trusted_proxy": "not-a-net", "user_header": "X-User"}, "is not an address"),
        ({"trusted_proxy": "10.0.0.0/8"}, "go together"),
        ({"port": 0}, "is not a TCP port"),
    ],
)
def test_bad_settings_are_one_line(values: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        DashboardSettings(**values)


def test_secrets_never_print() -> None:
    settings = DashboardSettings(auth_token=Secret("tok-12345"), ingest_secret=Secret("hm4c"))
    assert "tok-12345" not in repr(settings) and "hm4c" not in repr(settings)
    assert str(settings.auth_token) == "***"
    assert set(settings.secrets) == {"tok-12345", "hm4c"}


def test_a_bug_is_a_json_500_with_the_headers() -> None:
    async def broken(request: Request) -> JSONResponse:
        raise RuntimeError("boom")

    guard = Middleware(Guard, settings=DashboardSettings())  # inside Starlette's own, as in app.py
    app = Starlette(routes=[Route("/api/v1/x", broken)], middleware=[guard])
    answer = TestClient(app).get("/api/v1/x")
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (see the server log)", "status": 500}
    assert answer.headers["content-security-policy"] == CSP

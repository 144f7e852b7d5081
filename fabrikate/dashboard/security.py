"""Who may read, and the headers every answer carries.

    app.add_middleware(Guard, settings=settings)

Reading is open unless a bearer token or a trusted proxy is configured. Behind an OIDC proxy
(oauth2-proxy) the user header is believed only from the proxy's network; from anywhere else
it is dropped before any route sees it. A browser logs in once with the token (``/login``) and
then carries an HttpOnly cookie derived from it, never the token itself. Ingest and marks have
secrets of their own (``ingest.py``) and skip the reader's check.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fabrikate.dashboard.settings import DashboardSettings, Secret

__all__ = [
    "COOKIE",
    "HEADERS",
    "OPEN_PATHS",
    "Guard",
    "bearer",
    "same_secret",
    "session_value",
]

log = logging.getLogger("fabrikate.dashboard")

COOKIE = "fab_session"
# No inline script or style anywhere: htmx is told not to add its indicator style.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
# Paths a reader needs no token for: health checks, assets, the login form, and the
# endpoints that check a secret of their own.
OPEN_PATHS = ("/healthz", "/static/", "/login", "/api/v1/ingest/")
_MARKS = ("/api/v1/records/", "/marks")


def same_secret(given: str | None, secret: Secret | None) -> bool:
    """Whether ``given`` is ``secret`` (in constant time)."""
    if not given or secret is None:
        return False
    return hmac.compare_digest(given.encode(), secret.value.encode())


def session_value(token: Secret) -> str:
    """The cookie a logged-in browser carries: derived from the token, not the token."""
    return hmac.new(token.value.encode(), b"fab-dashboard-session", hashlib.sha256).hexdigest()


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _open(path: str) -> bool:
    if path.startswith(_MARKS[0]) and path.endswith(_MARKS[1]):
        return True  # marks check the write token
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in OPEN_PATHS)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _cookie(headers: Mapping[str, str]) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


class Guard:
    """ASGI middleware: the security headers, the trusted-proxy user, and the reader's check."""

    def __init__(self, app: ASGIApp, settings: DashboardSettings) -> None:
        self.app = app
        self.settings = settings
        self.proxy = settings.proxy_network
        self.user_header = (settings.user_header or "").lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        user = self._proxy_user(scope, headers)
        if self.user_header:  # nobody below reads the header itself, only the checked user
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k.decode("latin-1").lower() != self.user_header
            ]
        reader = self._reader(headers, user)
        scope.setdefault("state", {}).update(user=user, reader=reader)
        started: list[bool] = []
        secured = self._secured(send, started, static=scope["path"].startswith("/static/"))
        if not _open(scope["path"]) and not reader:
            await self._deny(scope, secured)
            return
        try:
            await self.app(scope, receive, secured)
        except Exception:  # a bug: logged, and one line to the client, with the headers
            log.exception("fab: dashboard internal error on %s", scope["path"])
            if not started:
                body = json.dumps({"error": "internal error (see the server log)", "status": 500})
                await _send(secured, 500, body.encode(), [("content-type", "application/json")])

    def _proxy_user(self, scope: Scope, headers: Mapping[str, str]) -> str | None:
        """The user the trusted proxy names; None from any other client."""
        if self.proxy is None or not scope.get("client"):
            return None
        try:
            client = ipaddress.ip_address(scope["client"][0])
        except ValueError:
            return None
        if client not in self.proxy:
            return None
        return headers.get(self.user_header, "").strip() or None

    def _reader(self, headers: Mapping[str, str], user: str | None) -> bool:
        """Whether this request may read."""
        token = self.settings.auth_token
        if token is not None and (
            same_secret(bearer(headers), token)
            or hmac.compare_digest((_cookie(headers) or "").encode(), session_value(token).encode())
        ):
            return True
        if self.proxy is not None:
            return user is not None
        return token is None

    def _secured(self, send: Send, started: list[bool], *, static: bool) -> Send:
        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.append(True)
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = dict(HEADERS)
                extra["cache-control"] = "public, max-age=3600" if static else "no-store"
                message["headers"] = [
                    *message.get("headers", []),
                    *(
                        (k.encode(), v.encode())
                        for k, v in extra.items()
                        if k.encode() not in names
                    ),
                ]
            await send(message)

        return secured

    async def _deny(self, scope: Scope, send: Send) -> None:
        """401 as JSON for the API; a browser asking for a page is sent to the login form."""
        path = scope["path"]
        wants_page = scope["method"] == "GET" and not path.startswith(("/api/", "/events"))
        if wants_page and self.settings.auth_token is not None:
            target = path + (
                ("?" + scope["query_string"].decode("latin-1")) if scope["query_string"] else ""
            )
            await _send(send, 303, b"", [("location", "/login?next=" + quote(target, safe=""))])
            return
        body = json.dumps({"error": "authentication required", "status": 401}).encode()
        await _send(send, 401, body, [("content-type", "application/json")], bearer_realm=True)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    headers: Iterable[tuple[str, str]],
    *,
    bearer_realm: bool = False,
) -> None:
    raw: list[Any] = [(k.encode(), v.encode()) for k, v in headers]
    if bearer_realm:
        raw.append((b"www-authenticate", b'Bearer realm="fab dashboard"'))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})

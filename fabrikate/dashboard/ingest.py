"""The endpoints that write: cluster events from Flux and Argo CD, and marks on records.

    POST /api/v1/ingest/flux      X-Signature: sha256=<hex HMAC of the body>  (generic-hmac)
    POST /api/v1/ingest/argocd    Authorization: Bearer <secret>, or the same X-Signature
    POST /api/v1/records/{id}/marks   Authorization: Bearer <write token>
                                      {"kind": "failed"|"hotfix"|"rollback", "note": "..."}

Each has its own secret; without one the endpoint is off (403). Ingestion is idempotent: an
event's id is a hash of its content, so a repeated post answers ``{"stored": false}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fabrikate.api.records import mark_record
from fabrikate.dashboard.security import bearer, same_secret
from fabrikate.errors import EventError, InputError
from fabrikate.records.events import (
    MARK_KINDS,
    MAX_BODY,
    ClusterEvent,
    check_signature,
    parse_argocd,
    parse_flux,
)

if TYPE_CHECKING:
    from fabrikate.dashboard.settings import DashboardSettings
    from fabrikate.records.stores.base import Store

# Runs a function of the store on a worker thread, then wakes the live streams.
Writer = Callable[[Callable[["Store"], Any]], Awaitable[Any]]

__all__ = ["ingest_router", "read_body"]

_PARSERS: dict[str, Callable[..., ClusterEvent]] = {"flux": parse_flux, "argocd": parse_argocd}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, refused past ``limit`` bytes (by default the size an event can have)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(f"the body is too large (limit {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _mark(body: bytes) -> tuple[str, str, str | None]:
    """The (kind, note, by) a request's JSON body asks for; the rules of a mark are
    ``mark_record``'s."""
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the mark is not JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"kind", "note", "by"}:
        raise InputError('want {"kind": "failed"|"hotfix"|"rollback", "note": "...", "by": "..."}')
    kind, note, by = data.get("kind"), data.get("note", ""), data.get("by")
    if not isinstance(kind, str) or not isinstance(note, str):
        raise InputError(f"'kind' ({', '.join(MARK_KINDS)}) and 'note' must be text")
    if by is not None and not isinstance(by, str):
        raise InputError("'by' must be text")
    return kind, note, by


def ingest_router(settings: DashboardSettings, write: Writer) -> APIRouter:
    """The routes that write, through ``write``."""
    router = APIRouter(prefix="/api/v1", tags=["ingest"])

    @router.post("/ingest/{source}", summary="Store one Flux or Argo CD event")
    async def ingest(source: str, request: Request) -> JSONResponse:
        """One Flux notification-controller event or Argo CD notifications webhook."""
        parse = _PARSERS.get(source)
        if parse is None:
            return _error(404, f"no ingest endpoint {source[:20]!r} (want flux or argocd)")
        if settings.ingest_secret is None:
            return _error(403, "ingest is off: start the dashboard with an ingest secret")
        body = await read_body(request)
        secret = settings.ingest_secret.value
        try:
            check_signature(body, request.headers, secret)
        except EventError as exc:
            return _error(401, str(exc))
        event = parse(body, request.headers, secret)  # a malformed event: 400 (app.py)
        stored = await write(lambda store: store.add_event(event))
        return JSONResponse({"stored": stored, "id": event.id}, status_code=201 if stored else 200)

    @router.post("/records/{record_id}/marks", summary="Mark a record failed, hotfix or rollback")
    async def add_mark(record_id: str, request: Request) -> JSONResponse:
        """Needs the write token as a bearer token; the trusted proxy's user signs the mark."""
        if settings.write_token is None:
            return _error(403, "marks are off: start the dashboard with a write token")
        if not same_secret(bearer(request.headers), settings.write_token):
            return _error(401, "the write token does not match")
        user = request.scope.get("state", {}).get("user")
        kind, note, by = _mark(await read_body(request))

        def add(store: Store) -> dict[str, Any]:
            # An unknown id is NotFound: 404 (app.py); a bad kind or note: 400.
            mark = mark_record(store, record_id, kind, note=note, by=user or by)
            return {"recordId": mark.record_id, "kind": mark.kind, "note": mark.note, "at": mark.at}

        return JSONResponse(await write(add), status_code=201)

    return router

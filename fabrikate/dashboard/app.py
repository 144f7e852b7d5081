"""The dashboard's ASGI app: pages and their JSON twins over the one query layer.

    app = create_app(DashboardSettings(records="sqlite:////var/lib/fab/records.db"))
    uvicorn.run(app, host="127.0.0.1", port=4040)

Every page ``/x`` has its twin ``/api/v1/x`` with the same parameters. Bad input (a filter, a
cursor, an id, an event) is a 4xx with a JSON error (an HTML page for a browser's page), never
a 500. The store is opened once, read-only unless an ingest secret or write token is given.
On PostgreSQL the request threads share a pool of ``STORE_CONNECTIONS`` connections and do not
wait for each other; a store on one connection (SQLite) is taken in turns, under one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import StreamingResponse

from fabrikate._version import __version__
from fabrikate.dashboard.ingest import ingest_router, read_body
from fabrikate.dashboard.links import ServerLinks
from fabrikate.dashboard.live import ChangeFeed
from fabrikate.dashboard.pages import PAGES, Page, Source
from fabrikate.dashboard.render import render, render_template
from fabrikate.dashboard.security import COOKIE, Guard, same_secret, session_value
from fabrikate.dashboard.settings import DashboardSettings
from fabrikate.dashboard.spektate import spektate_response
from fabrikate.errors import EventError, FabrikateError, InputError, NotFound, RecordsError
from fabrikate.records import queries
from fabrikate.records.mask import mask_tree
from fabrikate.support.redact import mask, mask_text

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store

__all__ = ["Dashboard", "create_app"]

T = TypeVar("T")
STORE_CONNECTIONS = 4  # PostgreSQL connections one dashboard process queries on at once

# page name -> (path, the query parameters it documents in the OpenAPI schema)
_FILTERS = queries.Filters.names()
_ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "matrix": ("/matrix", ("pivot", "cursor", "limit", *_FILTERS)),
    "deployments": ("/deployments", ("cursor", "limit", "all", *_FILTERS)),
    "deployment": ("/deployments/{key}", ()),
    "compare": ("/compare", ("a", "b", "service")),
    "environment": ("/environments/{key}", ("cursor", "limit")),
    "ring": ("/rings/{key}", ()),
    "cluster": ("/clusters/{key}", ()),
    "metrics": ("/metrics", ("window", *_FILTERS)),
}


class Dashboard:
    """One process's state: settings, the store (and its lock, for one connection), the
    live feed."""

    def __init__(self, settings: DashboardSettings) -> None:
        from fabrikate.records import open_store

        self.settings = settings
        store = open_store(settings.records, create=settings.writes, connections=STORE_CONNECTIONS)
        if store is None:
            raise InputError("the dashboard needs a records store (recording is off: 'none')")
        self.store: Store = store
        self.source = Source.of(store, settings.manifest_repo)
        self.lock = threading.Lock()
        self.feed = ChangeFeed(self._open_again, poll_seconds=settings.poll_seconds)

    def _open_again(self) -> Store:
        """A second connection, for the feed's blocking wait."""
        from fabrikate.records import open_store

        store = open_store(self.settings.records, create=False)
        assert store is not None
        return store

    def _locked(self, function: Callable[[Store], T]) -> T:
        if self.store.concurrent:
            return function(self.store)
        with self.lock:
            return function(self.store)

    async def read(self, function: Callable[[Store], T]) -> T:
        """``function(store)`` on a worker thread (with the store to itself, unless the store
        takes threads at once)."""
        return await run_in_threadpool(self._locked, function)

    async def write(self, function: Callable[[Store], T]) -> T:
        """Like ``read``; then the live streams of this process hear of it at once."""
        result = await run_in_threadpool(self._locked, function)
        self.feed.notify(await run_in_threadpool(self._locked, lambda s: s.change_count()))
        return result

    def masked(self, text: str) -> str:
        """``text`` with the dashboard's own secrets and any URL credentials masked."""
        return mask(mask_text(text), self.settings.secrets)


def _params(request: Request) -> Mapping[str, str]:
    """The query string (a multi-dict: the query layer refuses a filter given twice)."""
    return request.query_params


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/healthz", "/events"))


def _error_response(dashboard: Dashboard, request: Request, status: int, message: str) -> Response:
    message = dashboard.masked(message)
    if _wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    html = render_template(
        "error.html",
        links=ServerLinks(),
        here=request.url.path,
        site=dashboard.settings.title,
        title=f"Error {status}",
        status=status,
        message=message,
    )
    return HTMLResponse(html, status_code=status)


def _handlers(app: FastAPI, dashboard: Dashboard) -> None:
    """Every error as one line: 400 bad input, 404 nothing there (``NotFound``), 503 the store
    failed (any other ``RecordsError``); a bug is the guard's 500."""

    def handler(status: int) -> Callable[[Request, Exception], Any]:
        async def handle(request: Request, exc: Exception) -> Response:
            return _error_response(dashboard, request, status, str(exc))

        return handle

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _error_response(dashboard, request, exc.status_code, str(exc.detail))

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error_response(dashboard, request, 400, f"{where}: {first.get('msg', 'invalid')}")

    app.add_exception_handler(NotFound, handler(404))
    app.add_exception_handler(InputError, handler(400))
    app.add_exception_handler(EventError, handler(400))
    app.add_exception_handler(RecordsError, handler(503))
    app.add_exception_handler(FabrikateError, handler(400))
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation)


def _endpoints(dashboard: Dashboard, name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The JSON and HTML endpoints of one page (its key, when it has one, from the path)."""
    function = PAGES[name]

    async def load(request: Request) -> Page:
        key, params = request.path_params.get("key"), _params(request)
        page: Page = await dashboard.read(lambda _: function(dashboard.source, key, params))
        return page

    async def as_json(request: Request) -> Response:
        return JSONResponse((await load(request)).data)

    async def as_html(request: Request) -> Response:
        page = await load(request)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        html = render(page, links=ServerLinks(), here=here, title=dashboard.settings.title)
        return HTMLResponse(html)

    return as_json, as_html


def _page_routes(app: FastAPI, dashboard: Dashboard) -> None:
    """Each page as HTML at its path and as JSON under /api/v1/."""
    for name, (path, documented) in _ROUTES.items():
        as_json, as_html = _endpoints(dashboard, name)
        params = [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in documented
        ]
        if "{key}" in path:
            params.append(
                {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
            )
        app.add_api_route(
            "/api/v1" + path,
            as_json,
            methods=["GET"],
            summary=(PAGES[name].__doc__ or "").strip(),
            openapi_extra={"parameters": params},
            tags=["pages"],
        )
        html_path = "/" if name == "matrix" else path
        app.add_api_route(html_path, as_html, methods=["GET"], include_in_schema=False)


def _other_routes(app: FastAPI, dashboard: Dashboard) -> None:
    """Health, the Spektate API, the live stream and the login form."""

    @app.get("/healthz", tags=["health"], summary="Store reachable, last record and events")
    async def healthz(request: Request) -> JSONResponse:
        data = mask_tree(await dashboard.read(queries.health))
        status = 200 if data["ok"] else 503
        if not request.scope["state"]["reader"]:  # a load balancer's check learns no names
            return JSONResponse({"ok": data["ok"]}, status_code=status)
        return JSONResponse({**data, "version": __version__}, status_code=status)

    @app.get("/api/deployments", tags=["spektate"], summary="Deployments in Spektate's shape")
    async def spektate(request: Request) -> JSONResponse:
        params = _params(request)
        limit = params.get("limit") or "50"
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            raise InputError(f"limit {limit[:20]!r}: want a whole number from 1 to 1000")
        filters = queries.Filters.from_params(params, allow=("limit", "refresh"))

        def answer(store: Store) -> dict[str, Any]:
            records = store.query(filters.query(limit=int(limit)))
            return spektate_response(records, store.latest_events())

        return JSONResponse(mask_tree(await dashboard.read(answer)))

    @app.get("/api/version", tags=["spektate"], summary="The version, as Spektate's API has it")
    async def version() -> JSONResponse:
        return JSONResponse({"version": __version__})

    @app.get("/events", tags=["live"], summary="Server-sent events: 'change' on every write")
    async def events() -> StreamingResponse:
        return StreamingResponse(
            dashboard.feed.stream(),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return HTMLResponse(
            render_template(
                "login.html",
                links=ServerLinks(),
                here="/login",
                site=dashboard.settings.title,
                title="Log in",
                next=_local(next),
                failed=False,
            )
        )

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await read_body(request, 8192)).decode("utf-8", "replace"))
        token = dashboard.settings.auth_token
        target = _local((form.get("next") or ["/"])[0])
        if token is None or not same_secret((form.get("token") or [""])[0], token):
            html = render_template(
                "login.html",
                links=ServerLinks(),
                here="/login",
                site=dashboard.settings.title,
                title="Log in",
                next=target,
                failed=True,
            )
            return HTMLResponse(html, status_code=401)
        response = RedirectResponse(target, status_code=303)
        secure = request.url.scheme == "https"
        response.set_cookie(
            COOKIE, session_value(token), httponly=True, samesite="strict", secure=secure
        )
        return response


def _local(target: str) -> str:
    """A redirect target on this site only (no scheme, no host, no ``//``)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def create_app(settings: DashboardSettings) -> FastAPI:
    """The dashboard over the store ``settings.records`` names."""
    dashboard = Dashboard(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        count = await dashboard.read(lambda s: s.change_count())
        dashboard.feed.start(count)
        try:
            yield
        finally:
            await asyncio.to_thread(dashboard.feed.stop)
            dashboard.store.close()

    app = FastAPI(
        title=settings.title,
        version=__version__,
        summary="Deployment records of fab generate: what runs where, journeys, DORA metrics.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load script from a CDN; the schema is enough
        redoc_url=None,
    )
    app.state.dashboard = dashboard
    _handlers(app, dashboard)
    app.include_router(ingest_router(settings, dashboard.write))
    _page_routes(app, dashboard)
    _other_routes(app, dashboard)
    app.mount("/static", StaticFiles(packages=[("fabrikate.dashboard", "static")]), name="static")
    app.add_middleware(Guard, settings=settings)
    return app

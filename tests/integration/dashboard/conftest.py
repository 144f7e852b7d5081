"""A store seeded with hand-built records and events, and the dashboard app over it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from fabrikate.dashboard.app import create_app
from fabrikate.dashboard.settings import DashboardSettings
from fabrikate.records import open_store
from fabrikate.records.events import Mark
from tests.fixtures.record_data import event_for, make_record
from tests.fixtures.records_servers import free_port

NOW = datetime.now(UTC).replace(microsecond=0)
DECLARED = ("main", "canary", "dev")  # dev is declared and never deployed
LEAKED = "hunter2secret"  # a password in a URL some record carries: never shown


@dataclass
class Seeded:
    """The store's URL and the ids of its records by label."""

    url: str
    ids: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


def _record(label: str, days: float, **values: Any) -> dict[str, Any]:
    return make_record(
        label, at=NOW - timedelta(days=days), declared=DECLARED, default="main", **values
    )


def seed(url: str) -> Seeded:
    """Two services in two rings of prod, a failed run, a rollback, an unchanged run, events
    from two clusters and a mark."""
    plan = [
        ("api-1", 5, {"service": "api", "ring": "main", "tag": "1.0.0"}),
        ("api-2", 4, {"service": "api", "ring": "main", "tag": "1.1.0"}),
        ("api-3", 3, {"service": "api", "ring": "canary", "tag": "1.2.0"}),
        ("web-1", 3, {"service": "web", "ring": "main", "tag": "2.0.0"}),
        ("web-2", 2, {"service": "web", "ring": "main", "tag": "2.1.0"}),
        ("web-3", 1, {"service": "web", "ring": "main", "tag": "2.0.0"}),  # back to web-1
        ("web-x", 0.8, {"service": "web", "ring": "canary", "tag": "2.2.0", "outcome": "failed"}),
        ("api-4", 0.5, {"service": "api", "ring": "main", "tag": "1.1.0", "changed": False}),
    ]
    seeded = Seeded(url)
    with open_store(url) as store:
        for label, days, values in plan:
            record = _record(label, days, **values)
            if label == "api-3":
                record["source"]["repo"] = f"https://bob:{LEAKED}@github.com/o/app"
            store.add(record)
            seeded.ids[label] = record["id"]
            seeded.records[label] = record
        r = seeded.records
        store.add_event(event_for(r["api-2"], "healthy", cluster="east"))
        store.add_event(event_for(r["api-3"], "applied", cluster="west"))
        store.add_event(event_for(r["web-3"], "healthy", cluster="east", name="web"))
        store.add_event(event_for(r["web-2"], "failed", cluster="west", name="web"))
        store.add_mark(Mark(r["web-2"]["id"], "failed", "broke checkout", "ana", NOW.isoformat()))
    return seeded


@pytest.fixture
def seeded(store_url: str) -> Seeded:
    """Every store kind, seeded."""
    return seed(store_url)


@pytest.fixture
def sqlite_seeded(tmp_path: Any) -> Seeded:
    """A seeded SQLite store (the default kind)."""
    return seed(f"sqlite:///{tmp_path / 'records.db'}")


def client(settings: DashboardSettings, **kwargs: Any) -> Iterator[TestClient]:
    """The app in process, its lifespan (the live feed) running."""
    with TestClient(create_app(settings), **kwargs) as web:
        yield web


@pytest.fixture
def web(seeded: Seeded) -> Iterator[TestClient]:
    """The dashboard over each seeded store kind, read-only."""
    yield from client(DashboardSettings(records=seeded.url, poll_seconds=0.2))


@pytest.fixture
def sqlite_web(sqlite_seeded: Seeded) -> Iterator[TestClient]:
    """The dashboard over a seeded SQLite store, read-only."""
    yield from client(DashboardSettings(records=sqlite_seeded.url, poll_seconds=0.2))


@contextlib.contextmanager
def serve(settings: DashboardSettings) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                pytest.fail("the dashboard server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)

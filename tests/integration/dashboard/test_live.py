"""Live updates: the /events stream says ``change`` when anyone writes to the store (another
process's record, an ingested event), on SQLite (polled) and PostgreSQL (LISTEN/NOTIFY)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest

from fabrikate.dashboard.settings import DashboardSettings
from fabrikate.records import open_store
from tests.fixtures.record_data import make_record
from tests.integration.dashboard.conftest import NOW, Seeded, seed, serve


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream."""
    name = data = ""
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            yield name, data
            name = data = ""


@pytest.fixture(params=["sqlite", "postgresql"])
def live_seeded(request: pytest.FixtureRequest, tmp_path) -> Seeded:
    if request.param == "sqlite":
        return seed(f"sqlite:///{tmp_path / 'records.db'}")
    return seed(request.getfixturevalue("postgres_url"))


def test_a_new_record_from_another_writer_is_announced(live_seeded: Seeded) -> None:
    settings = DashboardSettings(records=live_seeded.url, poll_seconds=0.2)
    with serve(settings) as base, httpx.stream("GET", f"{base}/events", timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.iter_lines())
        name, hello = next(events)
        assert name == "hello"
        with open_store(live_seeded.url) as store:  # as a `fab generate` elsewhere would
            store.add(make_record("late", at=NOW, service="api", ring="main", tag="9.9.9"))
        name, count = next(e for e in events if e[0] != "hello")
        assert name == "change" and int(count) > int(hello)

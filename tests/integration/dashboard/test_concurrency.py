"""Request threads on PostgreSQL share a pool of connections and do not wait for each other;
SQLite's one connection is taken in turns."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import httpx2 as httpx
import psycopg
import pytest

from fabrikate.dashboard import app as dashboard_app
from fabrikate.dashboard.pages import PAGES, Page, Source
from fabrikate.dashboard.settings import DashboardSettings
from fabrikate.errors import RecordsError
from fabrikate.records import open_store
from tests.integration.dashboard.conftest import seed, serve

# One statement that returns only once two sessions have made it, each while the other was
# inside it or after: a rendezvous in the database. Each session keeps a shared advisory lock
# as its mark (so the first to leave still counts); it gives up after 20 s, so a dashboard
# that serialises its requests fails, never hangs.
RENDEZVOUS = """
CREATE FUNCTION fab_rendezvous() RETURNS int LANGUAGE plpgsql AS $$
DECLARE deadline timestamptz := clock_timestamp() + interval '20 seconds';
BEGIN
  PERFORM pg_advisory_lock_shared(4242);
  LOOP
    EXIT WHEN (SELECT count(DISTINCT pid) FROM pg_locks
               WHERE locktype = 'advisory' AND objid = 4242 AND granted) >= 2;
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'the other request never came';
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
  RETURN pg_backend_pid();
END $$
"""


def _meet(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """A slow page: its one store call waits until another request makes the same call."""
    (pid,) = source.store.execute("SELECT fab_rendezvous()")[0]
    return Page("ring.html", "meet", {"pid": pid})


def _two_at_once(base: str) -> list[httpx.Response]:
    answers: list[Any] = [None, None]

    def get(index: int) -> None:
        answers[index] = httpx.get(f"{base}/api/v1/rings/any", timeout=60)

    threads = [threading.Thread(target=get, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return answers


def test_two_slow_requests_on_postgresql_run_at_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(RENDEZVOUS)
    monkeypatch.setitem(PAGES, "ring", _meet)
    with serve(DashboardSettings(records=seeded.url, poll_seconds=0.2)) as base:
        first, second = _two_at_once(base)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["pid"] != second.json()["pid"]  # two connections, in use together


def test_a_pool_is_as_read_only_as_its_store(postgres_url: str) -> None:
    seed(postgres_url)
    with open_store(postgres_url, create=False, connections=2) as store:
        assert store.concurrent
        with pytest.raises(RecordsError, match="read-only"):
            store.execute("UPDATE fab_meta SET value = value WHERE name = 'changes'")
        assert store.change_count() > 0  # the pool still answers after the refusal


def test_sqlite_is_taken_in_turns(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    seed(url)
    dashboard = dashboard_app.Dashboard(DashboardSettings(records=url))
    try:
        assert not dashboard.store.concurrent
        inside = threading.Event()

        def hold(_: Any) -> None:
            assert dashboard.lock.locked()  # a SQLite call runs under the dashboard's lock
            inside.set()

        dashboard._locked(hold)
        assert inside.is_set() and not dashboard.lock.locked()
    finally:
        dashboard.store.close()

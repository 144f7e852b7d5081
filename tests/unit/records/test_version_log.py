"""The version log reads a bounded number of records per answer and pages on with a cursor,
never dropping or repeating a change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from fabrikate.errors import InputError
from fabrikate.records import queries
from fabrikate.records.filters import Filters
from fabrikate.records.stores.base import RecordQuery, Store
from fabrikate.records.view import log, log_more
from tests.fixtures.record_data import T0, make_record

H = timedelta(hours=1)
IMAGE = {"image": "acr.example.com/api"}
# (ring, tag, outcome): repeats are no change, a failed run deploys nothing.
PLAN = [
    ("main", "1.0", "succeeded"),
    ("canary", "1.0", "succeeded"),
    ("main", "1.0", "succeeded"),
    ("main", "1.1", "succeeded"),
    ("canary", "1.2", "failed"),
    ("canary", "1.2", "succeeded"),
    ("main", "1.1", "succeeded"),
    ("main", "1.0", "succeeded"),  # back: a change too
    ("canary", "1.2", "succeeded"),
    ("canary", "1.3", "succeeded"),
    ("main", "1.3", "succeeded"),
    ("main", "1.3", "succeeded"),
] * 3


@pytest.fixture
def store(new_store: Callable[[], Store]) -> Store:
    made = new_store()
    for n, (ring, tag, outcome) in enumerate(PLAN):
        made.add(
            make_record(f"v{n}", service="api", ring=ring, tag=tag, outcome=outcome, at=T0 + n * H)
        )
    return made


def _pages(store: Store, limit: int) -> tuple[list[dict], list[queries.Page]]:
    changes, pages, cursor = [], [], None
    while True:
        page = queries.version_log(store, Filters(), IMAGE, cursor=cursor, limit=limit)
        changes.extend(page.items)
        pages.append(page)
        if page.next is None:
            return changes, pages
        cursor = page.next


@pytest.mark.parametrize(("batch", "read"), [(200, 20_000), (4, 1000), (3, 5)])
def test_pages_of_changes_are_the_whole_log(
    store: Store, monkeypatch: pytest.MonkeyPatch, batch: int, read: int
) -> None:
    monkeypatch.setattr(queries, "LOG_BATCH", batch)
    monkeypatch.setattr(queries, "LOG_READ", read)
    everything = log(store.query(RecordQuery()), **IMAGE)
    assert len(everything) == 21  # 4 on main and 3 on canary a round
    changes, pages = _pages(store, limit=4)
    assert changes == everything
    assert all(len(p.items) <= 4 and (p.extra or {})["read"] <= read for p in pages)


def test_a_bound_read_says_so(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "LOG_BATCH", 3)
    monkeypatch.setattr(queries, "LOG_READ", 3)
    page = queries.version_log(store, Filters(), IMAGE, limit=20)
    assert page.next is not None and page.extra == {"read": 3, "more": False}
    assert log_more(page.to_data()) == (
        f"read the newest 3 matching records; older ones: --cursor {page.next} (or --since/--until)"
    )
    monkeypatch.setattr(queries, "LOG_READ", 1000)
    more = queries.version_log(store, Filters(), IMAGE, limit=2)
    assert len(more.items) == 2 and (more.extra or {})["more"] is True
    assert log_more(more.to_data()).startswith("showing the newest 2 changes; more: --cursor ")


def test_the_last_page_has_no_next_and_a_bad_limit_is_refused(store: Store) -> None:
    page = queries.version_log(store, Filters(), IMAGE, limit=500)
    assert page.next is None and len(page.items) == 21
    with pytest.raises(InputError, match="limit 501"):
        queries.version_log(store, Filters(), IMAGE, limit=501)

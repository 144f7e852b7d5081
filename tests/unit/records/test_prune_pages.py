"""A prune reports every record it removes, read a page at a time, never whole records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from fabrikate.api import records as api_records
from fabrikate.records.stores.base import RecordQuery, Store
from tests.fixtures.record_data import T0, make_record


def test_a_prune_reads_its_report_in_pages(
    new_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = new_store()
    made = [make_record(f"p{n}", at=T0 + timedelta(minutes=n // 2)) for n in range(7)]  # ties
    store.add_all(made)
    limits: list[int | None] = []
    views = store.views

    def counted(q: RecordQuery, paths: object) -> list[dict]:
        limits.append(q.limit)
        return views(q, paths)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "views", counted)
    monkeypatch.setattr(api_records, "PRUNE_PAGE", 2)
    pruned = api_records.prune_records(store, "2100-01-01", keep_latest_per_environment=False)
    removed = pruned.to_data()["removed"]
    oldest_first = sorted(made, key=lambda r: (r["startedAt"], r["id"]))
    assert [r["rowKey"] for r in removed] == [r["rowKey"] for r in oldest_first]
    assert set(removed[0]) == {"id", "rowKey", "scope", "environment", "ring", "startedAt"}
    assert limits == [2, 2, 2, 2] and store.query(RecordQuery()) == []

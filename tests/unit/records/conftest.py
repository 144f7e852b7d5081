"""Stores the query tests run on: the in-memory one and a SQLite file (the server-backed
stores run the same queries in tests/integration/test_records_queries.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fabrikate.records.stores import open_store
from fabrikate.records.stores.base import Store


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Makes empty stores of one kind (each call a new one); all are closed afterwards."""
    opened: list[Store] = []

    def make() -> Store:
        name = uuid.uuid4().hex
        url = f"memory://{name}" if request.param == "memory" else f"sqlite:///{tmp_path / name}.db"
        store = open_store(url)
        assert store is not None
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()

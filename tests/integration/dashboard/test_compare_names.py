"""Compare by bare names on the web: a name that is an environment and a ring pairs as the
other side does, and an ambiguous pair is a 400 that spells the URL parameters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fabrikate.dashboard.settings import DashboardSettings
from fabrikate.records import open_store
from tests.fixtures.record_data import T0, make_record
from tests.integration.dashboard.conftest import client


@pytest.fixture
def web(tmp_path: Path) -> Iterator[TestClient]:
    """api in prod/canary and in canary/prod: both names are an environment and a ring."""
    url = f"sqlite:///{tmp_path / 'records.db'}"
    with open_store(url) as store:
        store.add(make_record("a", service="api", environment="prod", ring="canary", at=T0))
        store.add(make_record("b", service="api", environment="canary", ring="prod", tag="1.1"))
    yield from client(DashboardSettings(records=url, poll_seconds=0.2))


def test_an_ambiguous_pair_names_the_url_spelling(web: TestClient) -> None:
    answer = web.get("/api/v1/compare?a=prod&b=canary")
    assert answer.status_code == 400
    assert answer.json()["error"].endswith(
        "say which, a=env:prod&b=env:canary or a=ring:prod&b=ring:canary"
    )
    chosen = web.get("/api/v1/compare?a=ring:prod&b=ring:canary").json()
    assert (chosen["a"]["environment"], chosen["b"]["environment"]) == ("canary", "prod")

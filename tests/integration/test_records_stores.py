"""Every records store against its real server: records, deployment rows and correlation.

SQLite is a file; PostgreSQL and Azurite run on loopback (tests/fixtures/records_servers.py).
The correlation scenarios are those of deployment-records spec §6.5.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from fabrikate.records import RecordsError, Stage, Store, create, open_store


def _record(
    scope: str = "hld", env: str = "prod", started: str = "2025-01-01T00:00:00+00:00", **extra: Any
) -> dict[str, Any]:
    ident = str(uuid.uuid4())
    return {
        "schema": "fabrikate.deployment-record/v1",
        "id": ident,
        "rowKey": ident.replace("-", "")[:12],
        "scope": scope,
        "environment": env,
        "startedAt": started,
        "outcome": "succeeded",
        **extra,
    }


@pytest.fixture
def store(store_url: str) -> Store:
    opened = open_store(store_url)
    assert opened is not None
    with opened:
        yield opened


def test_records_round_trip_newest_first_with_filters(store: Store) -> None:
    old = _record(started="2025-01-01T00:00:00+00:00")
    new = _record(started="2025-01-02T00:00:00+00:00", images=[{"image": "x" * 70_000}])
    other = _record(env="staging", started="2025-01-03T00:00:00+00:00")
    for record in (old, new, other):
        store.add(record)
    assert [r["id"] for r in store.records(environment="prod")] == [new["id"], old["id"]]
    assert [r["id"] for r in store.records(limit=1)] == [other["id"]]
    since = store.records(since="2025-01-02T00:00:00+00:00")
    assert {r["id"] for r in since} == {new["id"], other["id"]}
    assert store.get(new["rowKey"]) == new  # a 70 kB record survives (Azure splits it)
    assert store.get(old["id"][:8])["id"] == old["id"]
    with pytest.raises(RecordsError, match="no record"):
        store.get("ffffffffffff")


def test_happy_path_stitches_one_row(store: Store) -> None:
    key = create(
        store,
        "app",
        Stage(
            p1="6872",
            image_tag="App-Master-6872",
            commit_id="5B54EB4",
            service="app",
            repository="https://u:tok@dev.azure.com/o/p/_git/app",
        ),
    )
    assert (
        create(
            store,
            "app",
            Stage(
                p2="6872",
                hld_commit_id="d7c9e6a",
                env="master",
                image_tag="app-master-6872",
                pr="57",
            ),
        )
        == key
    )
    assert create(store, "app", Stage(p3="6876", hld_commit_id="d7c9e6a0123", pr="57")) == key
    assert create(store, "app", Stage(p3="6876", manifest_commit_id="49BCD78ABC")) == key
    [row] = store.rows("app")
    assert row.fields | {} == row.fields
    fields = {k: v for k, v in row.fields.items() if k != "createdAt"}
    assert fields == {
        "p1": "6872",
        "imageTag": "app-master-6872",
        "commitId": "5b54eb4",
        "service": "app",
        "sourceRepo": "https://dev.azure.com/o/p/_git/app",
        "p2": "6872",
        "hldCommitId": "d7c9e6a",
        "env": "master",
        "pr": "57",
        "p3": "6876",
        "manifestCommitId": "49bcd78",
    }


def test_pr_merge_commit_is_found_through_the_pr(store: Store) -> None:
    key = create(store, "app", Stage(p1="1", image_tag="t1", commit_id="aaaaaaa", service="s"))
    create(
        store, "app", Stage(p2="2", hld_commit_id="bbbbbbb", env="master", image_tag="t1", pr="57")
    )
    # The merge commit on master differs from the DEPLOY/ branch commit (bedrock#925).
    assert create(store, "app", Stage(p3="3", hld_commit_id="ccccccc", pr="57")) == key
    [row] = store.rows("app")
    assert row.fields["hldCommitId"] == "ccccccc" and row.fields["p1"] == "1"


def test_rerun_of_generation_becomes_a_second_row(store: Store) -> None:
    first = create(store, "app", Stage(p1="1", image_tag="t1", commit_id="aaaaaaa", service="s"))
    create(store, "app", Stage(p2="2", hld_commit_id="bbbbbbb", env="master", image_tag="t1"))
    assert create(store, "app", Stage(p3="3", hld_commit_id="bbbbbbb")) == first
    second = create(store, "app", Stage(p3="4", hld_commit_id="bbbbbbb"))
    assert second != first
    rows = {r.row_key: r.fields for r in store.rows("app")}
    assert rows[second]["p3"] == "4" and rows[second]["p1"] == "1"  # copied from the first
    assert rows[first]["p3"] == "3"


def test_hld_only_change_is_a_manual_edit_row(store: Store) -> None:
    key = create(store, "app", Stage(p3="9", hld_commit_id="eeeeeee", env="prod"))
    [row] = store.rows("app")
    assert row.row_key == key
    assert "p1" not in row.fields and "service" not in row.fields  # Spektate: "Manual HLD Edit"
    assert row.fields["env"] == "prod"


def test_noop_generation_keeps_the_previous_manifest_commit(store: Store) -> None:
    create(store, "app", Stage(p3="9", hld_commit_id="eeeeeee"))
    create(store, "app", Stage(p3="9", manifest_commit_id="1111111"))
    # The same run again produced no manifest change: HEAD is still the previous commit.
    key = create(store, "app", Stage(p3="9", hld_commit_id="eeeeeee", manifest_commit_id="1111111"))
    [row] = store.rows("app")
    assert row.row_key == key and row.fields["manifestCommitId"] == "1111111"


def test_stage_3b_without_generation_is_an_error(store: Store) -> None:
    with pytest.raises(RecordsError, match="No manifest generation found"):
        create(store, "app", Stage(p3="404", manifest_commit_id="1111111"))


def test_merge_keeps_fields_the_stage_did_not_give(store: Store) -> None:
    key = create(
        store,
        "app",
        Stage(
            p1="1",
            image_tag="t",
            commit_id="aaaaaaa",
            service="s",
            repository="https://example.com/src",
        ),
    )
    create(store, "app", Stage(correlation_id=key, p3="7", hld_commit_id="ddddddd"))
    [row] = store.rows("app")
    assert row.fields["sourceRepo"] == "https://example.com/src" and row.fields["p3"] == "7"


def test_explicit_correlation_id_wins_over_heuristics(store: Store) -> None:
    create(store, "app", Stage(p1="1", image_tag="same", commit_id="aaaaaaa", service="s"))
    chosen = create(
        store,
        "app",
        Stage(
            p1="2",
            image_tag="same",
            commit_id="bbbbbbb",
            service="s",
            correlation_id="0123456789ab",
        ),
    )
    assert chosen == "0123456789ab"
    create(
        store,
        "app",
        Stage(p2="3", hld_commit_id="ccccccc", env="m", image_tag="same", correlation_id=chosen),
    )
    rows = {r.row_key: r.fields for r in store.rows("app")}
    assert rows[chosen]["p2"] == "3" and rows[chosen]["commitId"] == "bbbbbbb"
    assert len(rows) == 2 and all("p2" not in f for k, f in rows.items() if k != chosen)

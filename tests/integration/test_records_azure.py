"""The Azure Table store against Azurite: what an existing Spektate would read."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fabrikate.records import Row, Stage, create, open_store

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def table(azurite_url: str):
    from azure.data.tables import TableServiceClient

    store = open_store(azurite_url)
    service = TableServiceClient.from_connection_string(
        os.environ["AZURE_STORAGE_CONNECTION_STRING"]
    )
    with store, service:
        yield store, service.get_table_client(azurite_url.removeprefix("azuretable://"))


def test_entities_have_bedrock_shape_and_string_types(table) -> None:
    store, client = table
    key = create(
        store,
        "hello-bedrock",
        Stage(
            p1="6872",
            image_tag="hello-bedrock-master-6872",
            commit_id="5b54eb4",
            service="hello-bedrock",
        ),
    )
    create(
        store,
        "hello-bedrock",
        Stage(
            p2="6872",
            hld_commit_id="d7c9e6a",
            env="master",
            image_tag="hello-bedrock-master-6872",
            pr="57",
        ),
    )
    entity = client.get_entity("hello-bedrock", key)
    assert len(key) == 12 and int(key, 16) >= 0
    bedrock = {k: v for k, v in entity.items() if k not in ("PartitionKey", "RowKey", "createdAt")}
    assert bedrock == {
        "p1": "6872",
        "imageTag": "hello-bedrock-master-6872",
        "commitId": "5b54eb4",
        "service": "hello-bedrock",
        "p2": "6872",
        "hldCommitId": "d7c9e6a",
        "env": "master",
        "pr": "57",
    }
    assert all(type(v) is str for v in entity.values())  # Edm.String, even for numeric ids


def test_merge_keeps_properties_that_replace_would_drop(table) -> None:
    from azure.data.tables import UpdateMode

    store, client = table
    client.create_entity(
        {
            "PartitionKey": "p",
            "RowKey": "aaaaaaaaaaaa",
            "p1": "1",
            "hldCommitId": "bbbbbbb",
            "imageTag": "t",
            "future": "kept",
        }
    )
    create(store, "p", Stage(p3="9", hld_commit_id="bbbbbbb"))
    merged = client.get_entity("p", "aaaaaaaaaaaa")
    assert (merged["p3"], merged["future"], merged["p1"]) == ("9", "kept", "1")
    # What bedrock-cli does instead: a REPLACE loses every property it did not send.
    client.update_entity(
        {"PartitionKey": "p", "RowKey": "aaaaaaaaaaaa", "p3": "9"}, mode=UpdateMode.REPLACE
    )
    assert "future" not in client.get_entity("p", "aaaaaaaaaaaa")


def test_stale_etag_loses_and_create_retries(table) -> None:
    store, client = table
    key = create(store, "p", Stage(p3="9", hld_commit_id="bbbbbbb"))
    [row] = store.rows("p")
    client.upsert_entity({"PartitionKey": "p", "RowKey": key, "pr": "3"})  # another writer
    assert store.merge_row(row, {"p3": "10"}) is False
    assert (
        create(store, "p", Stage(p3="9", hld_commit_id="bbbbbbb", manifest_commit_id="1111111"))
        == key
    )
    assert client.get_entity("p", key)["manifestCommitId"] == "1111111"


def test_queries_page_past_1000_entities(table) -> None:
    store, client = table
    for start in range(0, 1100, 100):
        client.submit_transaction(
            [
                ("create", {"PartitionKey": "big", "RowKey": f"{i:012x}", "imageTag": "same"})
                for i in range(start, start + 100)
            ]
        )
    assert len(store.find_rows("big", "imageTag", "same")) == 1100
    assert len(store.rows("big")) == 1100
    # Stage 2 still finds a qualifying row among them and merges instead of inserting.
    create(store, "big", Stage(p2="1", hld_commit_id="ccccccc", env="m", image_tag="same"))
    assert len(store.rows("big")) == 1100
    assert sum(1 for r in store.rows("big") if r.fields.get("p2") == "1") == 1


def test_insert_refuses_a_taken_row_key(table) -> None:
    store, _ = table
    assert store.insert_row(Row("p", "0123456789ab", {"p1": "1"})) is True
    assert store.insert_row(Row("p", "0123456789ab", {"p1": "2"})) is False


def test_missing_connection_string_is_one_clear_error(monkeypatch) -> None:
    from fabrikate.records import RecordsError

    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    with pytest.raises(RecordsError, match="needs AZURE_STORAGE_CONNECTION_STRING"):
        open_store("azuretable://deployments")


def test_legacy_node_sdk_reads_rows_as_spektate_does(table, tmp_path) -> None:
    store, client = table
    key = create(store, "app", Stage(p3="4242", hld_commit_id="ABCDEF0123", pr="57"))
    create(store, "app", Stage(p3="4242", manifest_commit_id="49bcd78ff"))
    modules = REPO / ".tools" / "node_modules"
    script = REPO / "tests" / "data" / "spektate" / "read_table.js"
    out = subprocess.run(
        ["node", str(script), client.table_name, "app"],
        env={**os.environ, "FAB_NODE_MODULES": str(modules)},
        capture_output=True,
        text=True,
        check=True,
    )
    [entry] = json.loads(out.stdout)
    # Spektate reads entry.<field>._ and compares strings (e.g. the 7-character Flux tag match).
    assert entry["RowKey"]["_"] == key
    assert entry["p3"]["_"] == "4242" and entry["hldCommitId"]["_"] == "abcdef0"
    assert entry["manifestCommitId"]["_"] == "49bcd78" and entry["pr"]["_"] == "57"
    assert all(entry[k].get("$", "Edm.String") == "Edm.String" for k in ("p3", "pr", "hldCommitId"))


def _native(day: int, **extra: object) -> dict[str, object]:
    ident = f"{day:08d}-0000-4000-8000-000000000000"
    return {
        "id": ident,
        "rowKey": ident.replace("-", "")[:12],
        "scope": "hld",
        "environment": "prod",
        "startedAt": f"2025-01-{day:02d}T00:00:00+00:00",
        "outcome": "succeeded",
        **extra,
    }


def test_a_store_from_before_the_latest_table_is_read_and_then_migrated(azurite_url) -> None:
    from azure.data.tables import TableServiceClient

    from fabrikate.records.stores.base import RecordQuery

    old = [_native(1, ring="canary"), _native(2, ring="canary"), _native(3, ring="main")]
    with open_store(azurite_url) as store:
        for record in old:
            store.add(record)
    name = azurite_url.removeprefix("azuretable://")
    with TableServiceClient.from_connection_string(
        os.environ["AZURE_STORAGE_CONNECTION_STRING"]
    ) as service:  # what the store had before: the deployment and records tables only
        for suffix in ("latest", "events", "evlast", "marks", "meta"):
            service.delete_table(f"{name}{suffix}")
    with open_store(azurite_url, create=False) as store:
        assert [r["id"] for r in store.latest()] == [old[2]["id"], old[1]["id"]]
        assert store.events() == [] and store.marks() == [] and store.clusters() == {}
        assert store.query(RecordQuery(ring="main")) == [old[2]]
    with open_store(azurite_url) as store:  # a writable open builds the latest rows
        assert [r["id"] for r in store.latest(ring="canary")] == [old[1]["id"]]
        store.add(newer := _native(4, ring="canary"))
        assert [r["id"] for r in store.latest(ring="canary")] == [newer["id"]]

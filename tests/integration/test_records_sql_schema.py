"""The SQL stores' schema: a version-1 database migrated in place or read as it is, and the
indexes that serve keyset pages (checked with the engines' own query plans)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fabrikate.records import RecordsError, open_store
from fabrikate.records.events import ClusterEvent, Mark
from fabrikate.records.metrics import dora, dora_view, figures
from fabrikate.records.overview import glance
from fabrikate.records.stores import schema
from fabrikate.records.stores.base import RecordQuery
from fabrikate.records.stores.dora import DORA_COLUMNS
from fabrikate.records.stores.sql import SqlStore

# What the schema-1 code (before the dashboard) created, as it created it.
_V1 = [
    "CREATE TABLE IF NOT EXISTS fab_record (id TEXT PRIMARY KEY, row_key TEXT NOT NULL, "
    "scope TEXT NOT NULL, environment TEXT NOT NULL, started_at TEXT NOT NULL, "
    "outcome TEXT NOT NULL, record {json} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fab_record_env ON fab_record (scope, environment, started_at)",
    "CREATE INDEX IF NOT EXISTS fab_record_started ON fab_record (started_at)",
    "CREATE INDEX IF NOT EXISTS fab_record_row_key ON fab_record (row_key)",
    "CREATE TABLE IF NOT EXISTS fab_deployment (scope TEXT NOT NULL, "
    "row_key TEXT NOT NULL, fields {json} NOT NULL, version INTEGER NOT NULL, "
    "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (scope, row_key))",
    "CREATE INDEX IF NOT EXISTS fab_deployment_created ON fab_deployment (scope, created_at)",
]


def _record(day: int, **extra: Any) -> dict[str, Any]:
    ident = str(uuid.uuid4())
    return {
        "id": ident,
        "rowKey": ident.replace("-", "")[:12],
        "scope": "hld",
        "environment": "prod",
        "startedAt": f"2025-01-{day:02d}T00:00:00+00:00",
        "outcome": "succeeded",
        "ci": {"provider": "local", "validationOnly": False},
        **extra,
    }


_OLD = [
    _record(1, ring="canary", service="api", components=[{"name": "api"}]),
    _record(2, ring="canary", service="api", hld={"commit": "ab" * 20}),
    _record(3, ring="main", outcome="failed", images=[{"image": "nginx:1.27"}]),
]


def _write_v1(url: str) -> None:
    """A version-1 database at ``url`` holding ``_OLD`` and one deployment row."""
    rows = [
        (r["id"], r["rowKey"], r["scope"], r["environment"], r["startedAt"], r["outcome"])
        for r in _OLD
    ]
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        mark, kind = "?", "TEXT"
    else:
        import psycopg

        conn = psycopg.connect(url, autocommit=True)
        mark, kind = "%s", "JSONB"
    for statement in _V1:
        conn.execute(statement.format(json=kind))
    for row, record in zip(rows, _OLD, strict=True):
        conn.execute(
            f"INSERT INTO fab_record VALUES ({', '.join([mark] * 7)})", (*row, json.dumps(record))
        )
    conn.execute(
        f"INSERT INTO fab_deployment VALUES ({', '.join([mark] * 6)})",
        ("hld", "abc123", json.dumps({"p1": "1"}), 1, "2025-01-01", "2025-01-01"),
    )
    conn.commit()
    conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def v1_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    _write_v1(url)
    return url


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in records]


def test_read_only_open_reads_a_version_1_database_as_it_is(v1_url: str) -> None:
    with open_store(v1_url, create=False) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore) and store.version == 1
        assert _ids(store.query(RecordQuery())) == _ids(_OLD[::-1])
        assert _ids(store.query(RecordQuery(ring="canary", limit=1))) == [_OLD[1]["id"]]
        assert _ids(store.query(RecordQuery(component="api"))) == [_OLD[0]["id"]]
        assert _ids(store.query(RecordQuery(commit="abab", outcome="succeeded"))) == [_OLD[1]["id"]]
        assert _ids(store.latest()) == [_OLD[1]["id"]]
        assert store.events() == [] and store.marks() == [] and store.clusters() == {}
        assert store.change_count() == 3
        planned = store.prune(before="2030-01-01", keep_latest_per_environment=True, dry_run=True)
        assert planned == [_OLD[0]["id"]]  # _OLD[2] is the newest of prod, _OLD[1] the latest
        with pytest.raises(RecordsError, match="read-only"):
            store.add_mark(Mark(_OLD[0]["id"], "failed"))
    with open_store(v1_url, create=False) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore) and store.version == 1  # nothing was migrated


def test_writable_open_migrates_a_version_1_database_in_place(v1_url: str) -> None:
    with open_store(v1_url) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore) and store.version == schema.VERSION
        assert _ids(store.query(RecordQuery())) == _ids(_OLD[::-1])
        assert store.query(RecordQuery(image="nginx")) == [_OLD[2]]
        assert _ids(store.query(RecordQuery(ring="canary", service="api"))) == _ids(
            [_OLD[1], _OLD[0]]
        )
        assert _ids(store.latest(ring="canary")) == [_OLD[1]["id"]]
        assert [row.row_key for row in store.rows("hld")] == ["abc123"]
        assert store.change_count() == 3
        store.add(newer := _record(4, ring="canary", service="api"))
        assert _ids(store.latest(ring="canary")) == [newer["id"]]
        assert "fab_record_started" not in _indexes(store)
    with open_store(v1_url, create=False) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore) and store.version == schema.VERSION
        assert len(store.query(RecordQuery())) == 4
        assert store.change_count() == 4


def test_migration_keeps_every_record_of_a_large_version_1_file(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    records = [_record(1 + n % 28, ring=f"r{n % 3}", service="api") for n in range(1234)]
    with sqlite3.connect(path) as conn:
        for statement in _V1:
            conn.execute(statement.format(json="TEXT"))
        conn.executemany(
            "INSERT INTO fab_record VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (r["id"], r["rowKey"], "hld", "prod", r["startedAt"], "succeeded", json.dumps(r))
                for r in records
            ],
        )
    with open_store(f"sqlite:///{path}") as store:  # type: ignore[union-attr]
        assert len(store.query(RecordQuery(service="api"))) == 1234
        newest = {
            f"r{n}": max((r for r in records if r["ring"] == f"r{n}"), key=_order) for n in range(3)
        }
        assert {g["ring"]: g["id"] for g in store.latest()} == {
            k: v["id"] for k, v in newest.items()
        }


def _order(record: dict[str, Any]) -> tuple[str, str]:
    return (record["startedAt"], record["id"])


def test_a_version_2_database_gains_glances(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_store(url) as store:  # type: ignore[union-attr]
        for record in _OLD:
            store.add(record)
        assert isinstance(store, SqlStore)  # now make it what schema version 2 wrote
        store.execute("ALTER TABLE fab_latest DROP COLUMN glance")
        store.execute("UPDATE fab_meta SET value = 2 WHERE name = 'schema'")
        store.execute("DELETE FROM fab_meta WHERE name = 'glance'")
    expected = [glance(_OLD[1])]
    with open_store(url, create=False) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore) and (store.version, store.glance_format) == (2, 0)
        assert store.latest() == expected  # made from the records
        assert len(store.query(RecordQuery(ring="canary"))) == 2
    with open_store(url) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore) and (store.version, store.glance_format) == (
            schema.VERSION,
            1,
        )
        assert store.latest() == expected
        assert store.execute("SELECT count(*) FROM fab_latest WHERE glance IS NULL") == [(0,)]


def test_a_version_3_database_gains_the_dora_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    records = [
        _record(4, output={"digest": "d1", "changed": False}, ci={"validationOnly": True}),
        _record(
            5,
            output={"digest": "d2"},
            manifest={"commit": "AB" * 20},
            finishedAt="2025-01-06T00:00:00+00:00",
        ),
        *_OLD,
    ]
    since, until = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    expected = [f.to_data() for f in dora(map(dora_view, records), [], [], since, until)]
    with open_store(url) as store:  # type: ignore[union-attr]
        store.add_all(records)
        assert isinstance(store, SqlStore)  # now make it what schema version 3 wrote
        store.execute("UPDATE fab_record SET " + ", ".join(f"{c} = NULL" for c in DORA_COLUMNS))
        store.execute("UPDATE fab_meta SET value = 3 WHERE name = 'schema'")
    for create, version in ((False, 3), (True, schema.VERSION), (False, schema.VERSION)):
        with open_store(url, create=create) as store:  # type: ignore[union-attr]
            assert isinstance(store, SqlStore) and store.version == version
            rows = store.dora_rows(RecordQuery())
            facts = store.dora_facts(RecordQuery(), since.isoformat())
            assert [f.to_data() for f in figures(facts.deployments, since, until)] == expected
            assert [r.id for r in rows] == _ids(sorted(records, key=_order, reverse=True))


def test_a_version_4_database_gains_the_landings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    made = [
        _record(4 + n, output={"digest": f"d{n % 3}"}, manifest={"commit": f"{n:x}" * 40})
        for n in range(1, 6)
    ]
    events = [
        ClusterEvent.make(
            source="flux",
            cluster=f"c{n % 2}",
            ring=None,
            environment="prod",
            kind="Kustomization",
            namespace="flux-system",
            name="apps",
            revision=f"{n % 5 + 1:x}" * 40,
            state=("applied", "healthy", "failed", "progressing")[n % 4],
            reason=None,
            message=None,
            at=f"2025-01-{10 + n:02d}T00:00:00+00:00",
        )
        for n in range(12)
    ]
    since, until = datetime(2025, 1, 7, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    expected = [f.to_data() for f in dora(made, events, [], since, until)]
    with open_store(url) as store:  # type: ignore[union-attr]
        store.add_all(made)
        store.add_events(events)
        assert isinstance(store, SqlStore)  # now make it what schema version 4 wrote
        store.execute("DROP TABLE fab_event_landing")
        store.execute("DROP INDEX fab_record_dora")  # version 6
        for column in ("landed_at", "event_failed"):
            store.execute(f"ALTER TABLE fab_record DROP COLUMN {column}")
        store.execute("UPDATE fab_meta SET value = 4 WHERE name = 'schema'")
    for create, version in ((False, 4), (True, schema.VERSION), (False, schema.VERSION)):
        with open_store(url, create=create) as store:  # type: ignore[union-attr]
            assert isinstance(store, SqlStore) and store.version == version
            rows = store.dora_rows(RecordQuery())
            facts = store.dora_facts(RecordQuery(), since.isoformat())
            assert [f.to_data() for f in figures(facts.deployments, since, until)] == expected
            assert sum(row.event_failed for row in rows) == 3  # revisions 1, 2 and 3
    with open_store(url) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore)
        landed = store.execute("SELECT count(*) FROM fab_record WHERE landed_at IS NOT NULL")
        assert landed == [(4,)]  # revision 3 never ran


def test_a_version_5_database_gains_the_index_that_covers_the_metrics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    made = [_record(1 + n, ring=f"r{n % 2}", output={"digest": f"d{n % 3}"}) for n in range(9)]
    since = datetime(2025, 1, 4, tzinfo=UTC)
    q = RecordQuery(environment="prod", since="2025-01-02T00:00:00+00:00")
    with open_store(url) as store:  # type: ignore[union-attr]
        store.add_all(made)
        store.add_mark(Mark(made[5]["id"], "hotfix"))
        assert isinstance(store, SqlStore)  # now make it what schema version 5 wrote
        store.execute("DROP INDEX fab_record_dora")
        store.execute("UPDATE fab_meta SET value = 5 WHERE name = 'schema'")
        expected = store.dora_facts(q, since.isoformat())
    for create, version in ((False, 5), (True, 6), (False, 6)):
        with open_store(url, create=create) as store:  # type: ignore[union-attr]
            assert isinstance(store, SqlStore) and store.version == version
            assert store.dora_facts(q, since.isoformat()) == expected
            assert ("fab_record_dora" in _indexes(store)) is (version == 6)
    assert [d.rework for d in expected.deployments] == [False, False, True, False, True, True]
    assert expected.records == 8 and expected.places == {("prod", "r0", None), ("prod", "r1", None)}


def test_the_metrics_of_an_environment_read_only_the_covering_index(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore)
        _fill(store, 300)
        store.execute("ANALYZE")
        q = RecordQuery(environment="prod", since="2025-01-02", until="2025-01-20", limit=50_000)
        sql, params = store.dora_rows_sql(q)
        plan = " | ".join(row[-1] for row in store.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "COVERING INDEX fab_record_dora" in plan, plan


def _indexes(store: SqlStore) -> set[str]:
    if store.url.startswith("sqlite"):
        rows = store.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = store.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'fab_record'")
    return {row[0] for row in rows}


def test_a_newer_schema_is_refused_with_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_store(url) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore)
        store.execute("UPDATE fab_meta SET value = 7 WHERE name = 'schema'")
    for create in (True, False):
        with pytest.raises(RecordsError, match="schema version 7; this fab reads up to 6"):
            open_store(url, create=create)


def test_read_only_open_refuses_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_store(url) as store:  # type: ignore[union-attr]
        store.add(_OLD[0])
    with open_store(url, create=False) as store:  # type: ignore[union-attr]
        assert store.query(RecordQuery()) == [_OLD[0]]
        with pytest.raises(RecordsError, match="read-only"):
            store.add(_OLD[1])
        with pytest.raises(RecordsError, match="read-only"):
            store.prune(before="2030-01-01", keep_latest_per_environment=False)
        assert store.prune(before="2030-01-01", keep_latest_per_environment=False, dry_run=True)


def _fill(store: SqlStore, count: int) -> None:
    """``count`` records in one transaction, fast."""
    with store.transaction():
        for n in range(count):
            store.add(_record(1 + n % 28, ring=f"r{n % 5}", service=f"s{n % 7}"))


def test_sqlite_keyset_pages_read_the_order_index(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore)
        _fill(store, 300)
        store.execute("ANALYZE")
        q = RecordQuery(before=("2025-01-10T00:00:00+00:00", "z"), limit=50)
        sql, params = store.query_sql(q)
        plan = " | ".join(row[-1] for row in store.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "fab_record_order" in plan and "TEMP B-TREE" not in plan, plan
        latest_plan = store.execute(
            "EXPLAIN QUERY PLAN SELECT record_id FROM fab_latest WHERE scope = ? AND ring = ?",
            ("hld", "r1"),
        )
        assert "fab_latest" in " ".join(row[-1] for row in latest_plan)


def test_postgresql_keyset_pages_read_the_order_index(postgres_url: str) -> None:
    with open_store(postgres_url) as store:  # type: ignore[union-attr]
        assert isinstance(store, SqlStore)
        _fill(store, 3000)
        store.execute("ANALYZE")
        q = RecordQuery(before=("2025-01-10T00:00:00+00:00", "z"), limit=50)
        sql, params = store.query_sql(q)
        plan = " | ".join(row[0] for row in store.execute(f"EXPLAIN {sql}", params))
        assert "Index Scan Backward using fab_record_order" in plan, plan
        assert "Sort" not in plan, plan


def test_postgresql_writes_notify_other_connections(postgres_url: str) -> None:
    import psycopg

    with open_store(postgres_url) as store, psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute("LISTEN fab_change")
        with store.transaction():  # many writes, one notification at commit
            store.add(_record(1))
            store.add_mark(Mark("x", "failed"))
        received = list(other.notifies(timeout=60, stop_after=1))
        assert [n.channel for n in received] == ["fab_change"]

"""The SQL schema of the SQLite and PostgreSQL stores, version 6, and what older ones lacked.

    for statement in tables(text="TEXT", json="TEXT"): execute(statement)

Version 1 (before the dashboard) had ``fab_record`` with six columns and ``fab_deployment``.
Version 2 adds the indexed facts of each record (``Facts``), the component names, the latest
record per (scope, service, ring, environment), cluster events, marks and a change counter in
``fab_meta``. Version 3 keeps each latest record's glance (``overview.glance``) beside it, so
the latest rows are read without decoding whole records. Version 4 keeps the fields the DORA
figures read as plain columns (``dora.DORA_COLUMNS``). Version 5 keeps the ``Landing`` of each
revision the events name (``fab_event_landing``) and copies it onto the records of that manifest
commit (``LANDING_COLUMNS``), so the figures read neither the events nor a join; and an index
by environment and time. Version 6 adds an index covering every column the figures read, so
the metrics of an environment read no table row. An older database gains the columns and
indexes in place and is backfilled from the JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

from fabrikate.records.stores.dora import DORA_COLUMNS
from fabrikate.records.stores.facts import GLANCE  # the glances' shape: opens rebuild others

__all__ = [
    "DORA",
    "DORA_COLUMNS",
    "EVENT_COLUMNS",
    "FACTS",
    "FACT_COLUMNS",
    "GLANCE",
    "INDEXES",
    "LANDINGS",
    "LANDING_COLUMNS",
    "OLD_INDEXES",
    "RECORD_COLUMNS",
    "VERSION",
    "tables",
]

VERSION = 6
FACTS = 2  # the first version with fact columns, events, marks and the change counter
DORA = 4  # the first version with the DORA columns
LANDINGS = 5  # the first version with fab_event_landing

# Columns of fab_record that version 2 added, all nullable text (backfilled on migration).
FACT_COLUMNS = (
    "ring",
    "service",
    "kind",
    "author",
    "hld_commit",
    "source_commit",
    "manifest_commit",
    "images",
)
# Columns of fab_record (version 5): the landing of its manifest commit, as add_events keeps it.
LANDING_COLUMNS = ("landed_at", "event_failed")  # event_failed: "1" once an event failed
RECORD_COLUMNS = (
    "id",
    "row_key",
    "scope",
    "environment",
    "started_at",
    "outcome",
    *FACT_COLUMNS,
    *DORA_COLUMNS,
    *LANDING_COLUMNS,
    "record",
)
# In the order of ClusterEvent's fields.
EVENT_COLUMNS = (
    "id",
    "source",
    "cluster",
    "ring",
    "environment",
    "kind",
    "namespace",
    "name",
    "revision",
    "state",
    "reason",
    "message",
    "at",
)


def tables(*, text: str, json: str, added: Sequence[str] = ()) -> list[str]:
    """CREATE TABLE statements; ``text`` is the type of compared text (a byte-order
    collation), ``json`` that of JSON documents. ``fab_record`` is made in its version-1 shape
    and then ``added`` text columns, in the order the migration would add them to an old one
    (a new database gets them at once: every ALTER TABLE reparses the whole schema)."""
    extra = "".join(f", {column} {text}" for column in added)
    return [
        f"CREATE TABLE IF NOT EXISTS fab_record (id {text} PRIMARY KEY, row_key TEXT NOT NULL, "
        f"scope {text} NOT NULL, environment {text} NOT NULL, started_at {text} NOT NULL, "
        f"outcome TEXT NOT NULL, record {json} NOT NULL{extra})",
        "CREATE TABLE IF NOT EXISTS fab_deployment (scope TEXT NOT NULL, "
        f"row_key TEXT NOT NULL, fields {json} NOT NULL, version INTEGER NOT NULL, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (scope, row_key))",
        f"CREATE TABLE IF NOT EXISTS fab_record_component (name {text} NOT NULL, "
        f"record_id {text} NOT NULL, PRIMARY KEY (name, record_id))",
        f"CREATE TABLE IF NOT EXISTS fab_latest (scope {text} NOT NULL, service {text} NOT NULL, "
        f"ring {text} NOT NULL, environment {text} NOT NULL, record_id {text} NOT NULL, "
        f"started_at {text} NOT NULL, glance {json}, "
        "PRIMARY KEY (scope, service, ring, environment))",
        "CREATE TABLE IF NOT EXISTS fab_event ("
        + ", ".join(f"{c} {text}{' PRIMARY KEY' if c == 'id' else ''}" for c in EVENT_COLUMNS)
        + ")",
        f"CREATE TABLE IF NOT EXISTS fab_event_latest (cluster {text} NOT NULL, "
        f"source {text} NOT NULL, kind {text} NOT NULL, namespace {text} NOT NULL, "
        f"name {text} NOT NULL, event_id {text} NOT NULL, at {text} NOT NULL, "
        "PRIMARY KEY (cluster, source, kind, namespace, name))",
        f"CREATE TABLE IF NOT EXISTS fab_event_landing (revision {text} PRIMARY KEY, "
        f"landed_at {text}, failed INTEGER NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS fab_mark (id {text} PRIMARY KEY, record_id {text} NOT NULL, "
        f"kind TEXT NOT NULL, note TEXT NOT NULL, marked_by TEXT, at {text} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS fab_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    ]


INDEXES = (
    "fab_record_order ON fab_record (started_at, id)",  # newest first, keyset pages
    "fab_record_place ON fab_record (scope, environment, started_at, id)",
    "fab_record_environment ON fab_record (environment, started_at, id)",
    # Covers the metrics of an environment (``SqlStore.dora_rows``): no table row is read.
    "fab_record_dora ON fab_record (environment, started_at, id, scope, ring, service, outcome, "
    "validation_only, output_digest, output_unchanged, finished_at, landed_at, "
    "source_commit_time, event_failed)",
    "fab_record_ring ON fab_record (ring, started_at, id)",
    "fab_record_service ON fab_record (service, started_at, id)",
    "fab_record_kind ON fab_record (kind, started_at, id)",
    "fab_record_hld_commit ON fab_record (hld_commit)",
    "fab_record_source_commit ON fab_record (source_commit)",
    "fab_record_manifest_commit ON fab_record (manifest_commit)",
    "fab_record_row_key ON fab_record (row_key)",
    "fab_record_component_record ON fab_record_component (record_id)",
    "fab_latest_record ON fab_latest (record_id)",
    "fab_event_order ON fab_event (at, id)",
    "fab_event_cluster ON fab_event (cluster, at, id)",
    "fab_event_revision ON fab_event (revision)",
    "fab_mark_record ON fab_mark (record_id, at)",
    "fab_deployment_created ON fab_deployment (scope, created_at)",
)
# Version-1 indexes that a version-2 index covers.
OLD_INDEXES = ("fab_record_env", "fab_record_started")

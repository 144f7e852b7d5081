"""What the SQLite and PostgreSQL stores share: the schema (``schema.py``) and the queries.

Records are JSON documents with indexed columns for every ``RecordQuery`` filter; deployment
rows keep the Spektate fields as one JSON object of strings, a row version for optimistic
merges, and timestamps. SQL here uses ``?`` placeholders; a backend with another style
translates them. An older database is migrated when opened for writing; opened read-only it
is read as it is (on version 1 the new filters then run here, on the records' JSON).
"""

from __future__ import annotations

import abc
import contextlib
import json
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import astuple
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from fabrikate.errors import RecordsError
from fabrikate.records.stores import dora, schema
from fabrikate.records.stores.base import RecordQuery, Row, Store
from fabrikate.records.stores.dora import DoraFacts, DoraRow, dora_facts
from fabrikate.records.stores.facts import (
    Facts,
    glance,
    latest_key,
    latest_of,
    matches,
    prunable,
)
from fabrikate.support.heap import settle

if TYPE_CHECKING:
    from fabrikate.records.events import ClusterEvent, Mark

__all__ = ["SqlStore", "now"]

_BATCH = 500  # rows per statement when a list of ids goes into an IN (…)
_V1_FILTERS = ("scope", "environment", "outcome", "since", "until", "before")
_LANDED = "(" + ", ".join(f"'{state}'" for state in dora.LANDED_STATES) + ")"
# Copies the landings onto the records of their manifest commits.
_COPY_LANDINGS = (
    "UPDATE fab_record SET landed_at = l.landed_at, event_failed = CASE WHEN l.failed = 1 "
    "THEN '1' END FROM fab_event_landing l WHERE l.revision = fab_record.manifest_commit "
    "AND length(l.revision) >= 7"
)
_DORA_COLUMNS = (  # a DoraRow, from the columns of the fab_record_dora index
    "id, scope, environment, ring, service, started_at, finished_at, outcome, "
    "validation_only IS NOT NULL, output_digest, output_unchanged IS NOT NULL, "
    "NULLIF(source_commit_time, ''), landed_at, event_failed IS NOT NULL"
)
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")  # of a view field


def now() -> str:
    """The current UTC time in ISO-8601, the one format every stored time uses."""
    return datetime.now(UTC).isoformat()


def _prefix(column: str, prefix: str) -> tuple[str, list[Any]]:
    """An index range for "``column`` starts with ``prefix``"."""
    if not prefix:
        return f"{column} IS NOT NULL", []
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return f"({column} >= ? AND {column} < ?)", [prefix, end]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _columns(select: str, sql: str) -> str:
    """``sql`` (a ``query_sql``) selecting the columns ``select`` instead of the record."""
    return sql.replace("SELECT record FROM fab_record", f"SELECT {select} FROM fab_record", 1)


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


class SqlStore(Store):
    """A store on a DB-API connection, with the statements both engines understand."""

    json_type = "TEXT"
    text_type = "TEXT"  # compared text: byte order, as the other stores compare
    record_text = "record"  # the record JSON as text
    read_only = False
    version = schema.VERSION  # of the open database
    glance_format = schema.GLANCE  # of the glances in its latest rows (0: none)

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (empty for writes)."""

    @abc.abstractmethod
    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write and return how many rows it touched."""

    @abc.abstractmethod
    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one write per row of parameters; how many rows they touched in all."""

    @abc.abstractmethod
    def begin(self) -> contextlib.AbstractContextManager[None]:
        """One database transaction: BEGIN, then COMMIT (ROLLBACK on an error)."""

    _depth = 0  # transactions open, nested ones included
    _dirty = False  # the open transaction wrote something the change counter counts

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing for the statements inside (nested: part of the outer one). The
        outermost counts its writes once, at its end: one counter row updated thousands of
        times in one transaction would make each update slower than the last. Threads sharing
        the store take turns: a connection has one transaction at a time."""
        with self.__dict__.setdefault("_transaction_lock", threading.RLock()):
            yield from self._transaction()

    def _transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self.begin():
            self._depth, self._dirty = 1, False
            try:
                yield
                if self._dirty:
                    self.count_change()
            finally:
                self._depth = 0

    @abc.abstractmethod
    def columns(self, table: str) -> set[str]:
        """The column names of ``table`` (empty when it does not exist)."""

    @abc.abstractmethod
    def field(self, name: str) -> tuple[str, Any]:
        """An SQL expression reading field ``name`` of ``fields``, and its parameter."""

    @staticmethod
    def contains(expression: str) -> str:
        """SQL that is true when ``expression`` holds the text of the next parameter."""
        return f"instr({expression}, ?) > 0"

    def to_json(self, value: Any) -> Any:
        """A JSON value as the driver wants it bound."""
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    @staticmethod
    def from_json(value: Any) -> Any:
        """A JSON column as Python data."""
        return json.loads(value) if isinstance(value, str | bytes) else value

    # schema
    def stored_version(self) -> tuple[int, int]:
        """The schema version of the database (1 before ``fab_meta``, 0 when it is empty) and
        the format of its glances (0 when it keeps none)."""
        if not self.columns("fab_meta"):
            return (1 if self.columns("fab_record") else 0), 0
        rows = dict(self.execute("SELECT name, value FROM fab_meta"))
        return int(rows.get("schema", 0)), int(rows.get("glance", 0))

    @property
    def current(self) -> bool:
        """Whether the database needs no migration."""
        return self.version == schema.VERSION and self.glance_format == schema.GLANCE

    @property
    def _old(self) -> bool:
        """A version-1 database (read-only): no fact columns, events or marks."""
        return self.version < schema.FACTS

    def check_version(self) -> None:
        """Refuse a database a newer fab made; note the version of an old one."""
        self.version, self.glance_format = self.stored_version()
        if self.version > schema.VERSION:
            raise RecordsError(
                f"records database {self.url} has schema version {self.version}; this fab "
                f"reads up to {schema.VERSION}: upgrade fab"
            )

    def migrate(self) -> None:
        """Bring the database to the current schema; call inside a transaction that holds
        the schema lock. Idempotent; a version-1 database keeps every record."""
        self.check_version()
        if self.current:
            return
        added = (*schema.FACT_COLUMNS, *schema.DORA_COLUMNS, *schema.LANDING_COLUMNS)
        new = not self.columns("fab_record")
        for statement in schema.tables(
            text=self.text_type, json=self.json_type, added=added if new else ()
        ):
            self.execute(statement)
        present = self.columns("fab_record")
        for column in added:
            if column not in present:
                self.execute(f"ALTER TABLE fab_record ADD COLUMN {column} {self.text_type}")
        if "glance" not in self.columns("fab_latest"):
            self.execute(f"ALTER TABLE fab_latest ADD COLUMN glance {self.json_type}")
        self._backfill()
        if self.version < schema.DORA:
            self._backfill_dora()
        if self.version < schema.LANDINGS:
            self._backfill_landings()
        if self.glance_format != schema.GLANCE:
            self._rebuild_glances()
        for name in schema.OLD_INDEXES:
            self.execute(f"DROP INDEX IF EXISTS {name}")
        for index in schema.INDEXES:
            self.execute(f"CREATE INDEX IF NOT EXISTS {index}")
        self._set_meta("schema", schema.VERSION)
        self._set_meta("glance", schema.GLANCE)
        if not self.execute("SELECT 1 FROM fab_meta WHERE name = 'changes'"):
            self._set_meta("changes", self.execute("SELECT count(*) FROM fab_record")[0][0])
        self.version, self.glance_format = schema.VERSION, schema.GLANCE

    def _rebuild_glances(self) -> None:
        """Every latest row's glance, made again from its record."""
        ids = [row[0] for row in self.execute("SELECT record_id FROM fab_latest")]
        for records in self._records_of(ids):
            self.execute_many(
                "UPDATE fab_latest SET glance = ? WHERE record_id = ?",
                [(self.to_json(glance(record)), record["id"]) for record in records],
            )

    def _records_of(self, ids: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
        """The records of ``ids``, a batch at a time (a migration never holds them all)."""
        for chunk in _chunks(ids):
            rows = self.execute(
                f"SELECT record FROM fab_record WHERE id IN ({_placeholders(len(chunk))})", chunk
            )
            yield [self.from_json(row[0]) for row in rows]

    def _set_meta(self, name: str, value: int) -> None:
        self.execute(
            "INSERT INTO fab_meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def _backfill(self) -> None:
        """Fill the fact columns, component names and latest rows of records without them."""
        assignments = ", ".join(f"{c} = ?" for c in schema.FACT_COLUMNS)
        ids = [row[0] for row in self.execute("SELECT id FROM fab_record WHERE kind IS NULL")]
        for records in self._records_of(ids):
            self.execute_many(
                f"UPDATE fab_record SET {assignments} WHERE id = ?",
                [(*self._facts(record), record["id"]) for record in records],
            )
            self._index(records)

    def _backfill_dora(self) -> None:
        """Fill the DORA columns of every record (a database before version 4)."""
        assignments = ", ".join(f"{c} = ?" for c in schema.DORA_COLUMNS)
        ids = [row[0] for row in self.execute("SELECT id FROM fab_record")]
        for records in self._records_of(ids):
            self.execute_many(
                f"UPDATE fab_record SET {assignments} WHERE id = ?",
                [(*dora.columns(record), record["id"]) for record in records],
            )

    def _backfill_landings(self) -> None:
        """The landing of every revision the stored events name (a database before
        version 5): what ``add_events`` keeps from then on."""
        self.execute("DELETE FROM fab_event_landing")
        self.execute(
            "INSERT INTO fab_event_landing (revision, landed_at, failed) SELECT revision, "
            f"min(CASE WHEN state IN {_LANDED} THEN at END), "
            "max(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) "
            "FROM fab_event WHERE revision IS NOT NULL AND revision <> '' GROUP BY revision"
        )
        self.execute(_COPY_LANDINGS)

    # native records
    @staticmethod
    def _facts(record: Mapping[str, Any]) -> tuple[Any, ...]:
        facts = Facts.of(record)
        return (
            facts.ring,
            facts.service,
            facts.kind,
            facts.author,
            facts.hld_commit,
            facts.source_commit,
            facts.manifest_commit,
            "\n".join(facts.images) or None,
        )

    def add(self, record: Mapping[str, Any]) -> None:
        """Store one native record, its facts and (when it is one) the latest row."""
        self.add_all([record])

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Store many native records in one transaction, a statement per table (the rows
        ``add`` writes, in far fewer round trips)."""
        self._writable()
        records = list(records)
        if not records:
            return
        columns = ", ".join(schema.RECORD_COLUMNS)
        with self.transaction():
            landed = self._landings([dora.manifest_commit(record) or "" for record in records])
            self.execute_many(
                f"INSERT INTO fab_record ({columns}) "
                f"VALUES ({_placeholders(len(schema.RECORD_COLUMNS))})",
                [self._values(record, landed) for record in records],
            )
            self._index(records)
            self.changed()

    def _landings(self, commits: Sequence[str]) -> dict[str, dora.Landing]:
        """The stored landings of ``commits`` (events that came before their records)."""
        wanted = sorted(set(commits) - {""})
        found: dict[str, dora.Landing] = {}
        for chunk in _chunks(wanted):
            rows = self.execute(
                "SELECT revision, landed_at, failed FROM fab_event_landing WHERE revision IN "
                f"({_placeholders(len(chunk))})",
                chunk,
            )
            found.update((revision, dora.Landing(at, failed == 1)) for revision, at, failed in rows)
        return found

    def _values(
        self, record: Mapping[str, Any], landed: Mapping[str, dora.Landing]
    ) -> tuple[Any, ...]:
        """The ``fab_record`` row of one record, with the landing of its manifest commit."""
        landing = landed.get(dora.manifest_commit(record) or "")
        return (
            record["id"],
            record["rowKey"],
            record["scope"],
            record["environment"],
            record["startedAt"],
            record["outcome"],
            *self._facts(record),
            *dora.columns(record),
            landing.at if landing else None,
            "1" if landing and landing.failed else None,
            self.to_json(record),
        )

    def _index(self, records: Sequence[Mapping[str, Any]]) -> None:
        """The component names and the latest rows of stored records (in their order: a later
        one of a key replaces an earlier one only when it is newer)."""
        self.execute_many(
            "INSERT INTO fab_record_component (name, record_id) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING",
            [
                (name, record["id"])
                for record in records
                for name in sorted(set(Facts.of(record).components))
            ],
        )
        self.execute_many(
            "INSERT INTO fab_latest (scope, service, ring, environment, record_id, started_at, "
            "glance) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, service, ring, environment) "
            "DO UPDATE SET record_id = excluded.record_id, started_at = excluded.started_at, "
            "glance = excluded.glance WHERE (excluded.started_at, excluded.record_id) > "
            "(fab_latest.started_at, fab_latest.record_id)",
            [
                (*key, record["id"], record["startedAt"], self.to_json(glance(record)))
                for record in records
                if (key := latest_key(record)) is not None
            ],
        )

    def changed(self) -> None:
        """Note a write; the open transaction counts it when it ends."""
        if not self._depth:
            raise AssertionError("changed() outside a transaction")  # pragma: no cover
        self._dirty = True

    def count_change(self) -> None:
        """Count the writes of the ending transaction (in it: readers see both or neither)."""
        self.execute("UPDATE fab_meta SET value = value + 1 WHERE name = 'changes'")

    def _writable(self) -> None:
        if self.read_only:
            raise RecordsError(f"records database {self.url} is open read-only")

    def _where(self, q: RecordQuery) -> tuple[list[str], list[Any]]:
        """WHERE clauses and parameters for every filter of ``q``."""
        where, params = self._where_v1(q)
        for column, value in (("ring", q.ring), ("kind", q.kind)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if q.manifest_commit is not None:
            where.append("manifest_commit = ?")
            params.append(q.manifest_commit.lower())
        if q.service is not None:
            # A list of ids, not an OR with a subquery per row: that makes SQLite walk a
            # wider index (the ring's) and test every row of it.
            where.append(
                "id IN (SELECT id FROM fab_record WHERE service = ? UNION ALL SELECT c.record_id"
                " FROM fab_record_component c JOIN fab_record s ON s.id = c.record_id"
                " WHERE c.name = ? AND s.service IS NULL)"
            )
            params += [q.service, q.service]
        if q.component is not None:
            where.append("id IN (SELECT record_id FROM fab_record_component WHERE name = ?)")
            params.append(q.component)
        if q.commit is not None:
            ranges = [
                _prefix(c, q.commit.lower())
                for c in ("hld_commit", "source_commit", "manifest_commit")
            ]
            where.append("(" + " OR ".join(sql for sql, _ in ranges) + ")")
            params += [p for _, ps in ranges for p in ps]
        for expression, value in (
            ("author", q.author and q.author.lower()),
            ("images", q.image),
            (f"lower({self.record_text})", q.keyword and q.keyword.lower()),
        ):
            if value is not None:
                where.append(self.contains(expression))
                params.append(value)
        return where, params

    @staticmethod
    def _where_v1(q: RecordQuery) -> tuple[list[str], list[Any]]:
        """The clauses of the filters a version-1 table has columns for."""
        where, params = [], []
        for column, value in (
            ("scope", q.scope),
            ("environment", q.environment),
            ("outcome", q.outcome),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if q.since is not None:
            where.append("started_at >= ?")
            params.append(q.since)
        if q.until is not None:
            where.append("started_at < ?")
            params.append(q.until)
        if q.before is not None:
            where.append("(started_at, id) < (?, ?)")
            params += list(q.before)
        return where, params

    def query_sql(self, q: RecordQuery) -> tuple[str, list[Any]]:
        """The SELECT that answers ``q`` on a current schema."""
        where, params = self._where(q)
        sql = "SELECT record FROM fab_record"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC"
        if q.limit is not None:
            sql += f" LIMIT {int(q.limit)}"
        return sql, params

    def query(self, q: RecordQuery) -> list[dict[str, Any]]:
        """The records ``q`` matches, newest first."""
        if self._old:
            return self._query_v1(q)
        sql, params = self.query_sql(q)
        return [self.from_json(row[0]) for row in self.execute(sql, params)]

    def views(self, q: RecordQuery, paths: Sequence[str]) -> list[dict[str, Any]]:
        """``query(q)`` with only the fields ``paths`` name, picked out of the JSON by the
        database: one small JSON array a record to decode, not the whole record."""
        if self._old or not paths:
            return super().views(q, paths)
        for path in paths:
            if not _PATH.match(path):
                raise ValueError(f"bad record field path {path!r}")  # pragma: no cover
        parents = sorted({path.partition(".")[0] for path in paths if "." in path})
        picked = self.json_values([path.split(".") for path in paths])
        kinds = [self.json_kind(parent) for parent in parents]
        sql, params = self.query_sql(q)
        sql = self.view_sql(", ".join([picked, *kinds]), sql)
        plan = [(path, *path.partition(".")[::2]) for path in paths]
        found = []
        for row in self.execute(sql, params):
            objects = {p for p, kind in zip(parents, row[1:], strict=True) if kind == "object"}
            view: dict[str, Any] = {}
            for (_, top, key), value in zip(plan, json.loads(row[0]), strict=False):  # 1: 2
                if not key:
                    view[top] = value
                elif top in objects:
                    view.setdefault(top, {})[key] = value
                else:
                    view[top] = None
            found.append(view)
        return found

    def dora_rows(self, q: RecordQuery) -> list[DoraRow]:
        """``Store.dora_rows`` from the DORA and landing columns (version 5): neither the JSON
        nor the events are read."""
        if self.version < schema.LANDINGS:
            return super().dora_rows(q)
        return list(map(DoraRow._make, self.execute(*self.dora_rows_sql(q))))

    def dora_rows_sql(self, q: RecordQuery) -> tuple[str, list[Any]]:
        """The SELECT of ``dora_rows`` (version 5 and later)."""
        sql, params = self.query_sql(q)
        return _columns(_DORA_COLUMNS, sql), params

    def dora_facts(self, q: RecordQuery, since: str) -> DoraFacts:
        """``Store.dora_facts`` from ``dora_rows`` (read from one covering index) and one
        statement for the marks of the records ``q`` matches."""
        if self.version < schema.LANDINGS:
            return super().dora_facts(q, since)
        where, params = self._where(q)
        # From the few marks to their records: no list of the many records' ids is made.
        # Without q's limit: a mark of a record past it is looked up for no row.
        condition = " AND ".join(["id = fab_mark.record_id", *where])
        marks = self._marks(f" WHERE EXISTS (SELECT 1 FROM fab_record WHERE {condition})", params)
        return dora_facts(self.dora_rows(q), marks, since)

    def view_sql(self, select: str, sql: str) -> str:
        """``sql`` (a ``query_sql``) selecting ``select`` instead of the record."""
        return sql.replace("SELECT record", f"SELECT {select}", 1)

    @abc.abstractmethod
    def json_values(self, paths: Sequence[Sequence[str]]) -> str:
        """SQL for a JSON array (as text) of the values of ``record`` at ``paths`` (lists of
        checked names), a JSON null where there is none."""

    @abc.abstractmethod
    def json_kind(self, name: str) -> str:
        """SQL for the JSON type of ``record``'s field ``name`` (``object`` for an object)."""

    def _query_v1(self, q: RecordQuery) -> list[dict[str, Any]]:
        """A read-only version-1 database: its columns filter, the JSON does the rest."""
        where, params = self._where_v1(q)
        sql = "SELECT record FROM fab_record"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC"
        found = [self.from_json(row[0]) for row in self.execute(sql, params)]
        found = [record for record in found if matches(record, q)]
        return found[: q.limit] if q.limit is not None else found

    def latest(
        self, *, scope: str | None = None, environment: str | None = None, ring: str | None = None
    ) -> list[dict[str, Any]]:
        """The glance (``facts.glance``) of the newest succeeded non-PR record per (scope,
        service, ring, environment), newest first, from the latest rows."""
        if self._old:  # read-only and old: no latest table to read
            found = self.query(RecordQuery(scope=scope, environment=environment))
            return [glance(record) for record in latest_of(found, ring=ring)]
        where, params = [], []
        for column, value in (("scope", scope), ("environment", environment), ("ring", ring)):
            if value is not None:
                where.append(f"l.{column} = ?")
                params.append(value)
        condition = (" WHERE " + " AND ".join(where)) if where else ""
        order = " ORDER BY l.started_at DESC, l.record_id DESC"
        if self.glance_format != schema.GLANCE:  # read-only, glances missing or of another shape
            sql = "SELECT r.record FROM fab_latest l JOIN fab_record r ON r.id = l.record_id"
            rows = self.execute(sql + condition + order, params)
            return [glance(self.from_json(row[0])) for row in rows]
        while True:  # again when a latest row changed between the two reads
            ids = [
                row[0]
                for row in self.execute(
                    f"SELECT l.record_id FROM fab_latest l{condition}{order}", params
                )
            ]
            glances = self._glances(ids, complete=not where)
            if glances is not None:
                return glances

    def _glances(self, ids: Sequence[str], *, complete: bool) -> list[dict[str, Any]] | None:
        """The glances of the latest rows of ``ids``, each decoded once per store: a record
        never changes, so neither does its glance (the dicts are shared: callers only read
        them). None when one of those rows has been replaced meanwhile. ``complete``: ``ids``
        are all the latest rows, so the others can be forgotten."""
        cache: dict[str, dict[str, Any]] = self.__dict__.setdefault("_glance_cache", {})
        if complete and len(cache) > 2 * len(ids) + 1000:  # replaced rows: forget them
            cache = {i: cache[i] for i in ids if i in cache}
            self.__dict__["_glance_cache"] = cache
        missing = [ident for ident in ids if ident not in cache]
        for chunk in _chunks(missing):
            rows = self.execute(
                "SELECT record_id, glance FROM fab_latest WHERE record_id IN "
                f"({_placeholders(len(chunk))})",
                chunk,
            )
            cache.update((ident, self.from_json(text)) for ident, text in rows)
        if any(ident not in cache for ident in missing):
            return None
        if missing:  # the cache lives as long as the store: keep collections from walking it
            settle()
        return [cache[ident] for ident in ids]

    def get(self, ref: str) -> dict[str, Any]:
        """The record whose id or row key is, or starts with, ``ref``."""
        ref = ref.strip().lower()
        prefix, params = _prefix("id", ref)  # an index range (an OR of LIKEs scans the table)
        rows = self.execute(
            "SELECT record FROM fab_record WHERE id IN (SELECT id FROM fab_record WHERE "
            f"{prefix} UNION SELECT id FROM fab_record WHERE row_key = ?) "
            "ORDER BY started_at DESC LIMIT 5",
            (*params, ref),
        )
        return self.pick(ref, [self.from_json(row[0]) for row in rows])

    def prune(
        self, *, before: str, keep_latest_per_environment: bool, dry_run: bool = False
    ) -> list[str]:
        """Remove the records started before ``before``; their ids, newest first."""
        if dry_run:  # no write lock: a dry run only reads
            return self._prunable(before, keep_latest_per_environment)
        self._writable()
        with self.transaction():
            ids = self._prunable(before, keep_latest_per_environment)
            if not ids:
                return ids
            for chunk in _chunks(ids):
                marks = _placeholders(len(chunk))
                for table, column in (
                    ("fab_mark", "record_id"),
                    ("fab_latest", "record_id"),  # older than any other of its key: none left
                    ("fab_record_component", "record_id"),
                    ("fab_record", "id"),
                ):
                    self.execute_count(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
            self.changed()
            return ids

    def _prunable(self, before: str, keep_latest: bool) -> list[str]:
        if self._old:  # read-only and old: no latest table to read
            records = self.query(RecordQuery())
            latest = [r["id"] for r in latest_of(records)]
            return prunable(records, before=before, keep_latest=keep_latest, latest_ids=latest)
        sql = "SELECT id FROM fab_record WHERE started_at < ?"
        if keep_latest:
            sql += (
                " AND id NOT IN (SELECT record_id FROM fab_latest) AND id NOT IN (SELECT "
                "(SELECT n.id FROM fab_record n WHERE n.scope = p.scope AND n.environment = "
                "p.environment ORDER BY n.started_at DESC, n.id DESC LIMIT 1) "
                "FROM (SELECT DISTINCT scope, environment FROM fab_record) p)"
            )
        sql += " ORDER BY started_at DESC, id DESC"
        return [row[0] for row in self.execute(sql, (before,))]

    # events and marks
    def add_event(self, event: ClusterEvent) -> bool:
        """Store one event; False when its id is already stored."""
        return self.add_events([event]) == 1

    def add_events(self, events: Iterable[ClusterEvent]) -> int:
        """Store many events in one transaction; how many were new."""
        self._writable()
        events = list(events)
        rows = [astuple(event) for event in events]
        if not rows:
            return 0
        columns = ", ".join(schema.EVENT_COLUMNS)
        with self.transaction():
            added = self.execute_many(
                f"INSERT INTO fab_event ({columns}) VALUES "
                f"({_placeholders(len(schema.EVENT_COLUMNS))}) ON CONFLICT DO NOTHING",
                rows,
            )
            if added:
                self._latest_events(rows)
                self._land(dora.landings(events))
                self.changed()
        return added

    def _land(self, landed: Mapping[str, dora.Landing]) -> None:
        """Fold the landings of new events into the stored ones (idempotent: the earliest
        time, and failed once any event failed), and copy them onto their records."""
        self.execute_many(
            "INSERT INTO fab_event_landing (revision, landed_at, failed) VALUES (?, ?, ?) "
            "ON CONFLICT (revision) DO UPDATE SET landed_at = CASE WHEN "
            "fab_event_landing.landed_at IS NULL OR excluded.landed_at < "
            "fab_event_landing.landed_at THEN excluded.landed_at ELSE fab_event_landing.landed_at "
            "END, failed = CASE WHEN excluded.failed = 1 THEN 1 ELSE fab_event_landing.failed END",
            [(revision, at, int(failed)) for revision, (at, failed) in landed.items()],
        )
        self.execute_many(_COPY_LANDINGS + " AND l.revision = ?", [(r,) for r in landed])

    def _latest_events(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.execute_many(
            "INSERT INTO fab_event_latest (cluster, source, kind, namespace, name, event_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cluster, source, kind, namespace, name) "
            "DO UPDATE SET event_id = excluded.event_id, at = excluded.at "
            "WHERE (excluded.at, excluded.event_id) > (fab_event_latest.at, "
            "fab_event_latest.event_id)",
            [(r[2] or "", r[1], r[5], r[6] or "", r[7], r[0], r[12]) for r in rows],
        )

    def _events(self, sql: str, params: Sequence[Any]) -> list[ClusterEvent]:
        from fabrikate.records.events import ClusterEvent

        if self._old:
            return []  # a version-1 database holds no events
        return [ClusterEvent(*row) for row in self.execute(sql, params)]

    def events(
        self,
        *,
        cluster: str | None = None,
        revision: str | None = None,
        revisions: Sequence[str] | None = None,
        since: str | None = None,
        before: str | tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[ClusterEvent]:
        """Events, newest first."""
        if revisions is not None and len(revisions) > _BATCH:  # one IN (…) at a time
            found = [
                event
                for chunk in _chunks(list(revisions))
                for event in self.events(
                    cluster=cluster, revision=revision, revisions=chunk, since=since, before=before
                )
            ]
            return sorted(found, key=lambda e: (e.at, e.id), reverse=True)[:limit]
        where, params = [], []
        if revisions is not None:
            where.append(f"revision IN ({_placeholders(len(revisions))})" if revisions else "0 = 1")
            params += [r.lower() for r in revisions]
        if cluster is not None:
            where.append("cluster = ?")
            params.append(cluster)
        if revision is not None:
            where.append("revision = ?")
            params.append(revision.lower())
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if isinstance(before, tuple):
            where.append("(at, id) < (?, ?)")
            params += list(before)
        elif before is not None:
            where.append("at < ?")
            params.append(before)
        sql = f"SELECT {', '.join(schema.EVENT_COLUMNS)} FROM fab_event"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._events(sql, params)

    def event_count(self, revision: str) -> int:
        """How many stored events are about ``revision``."""
        if self._old:
            return 0
        rows = self.execute(
            "SELECT count(*) FROM fab_event WHERE revision = ?", (revision.lower(),)
        )
        return int(rows[0][0])

    def latest_events(self, *, cluster: str | None = None) -> list[ClusterEvent]:
        """The newest event per (cluster, source, kind, namespace, name), newest first."""
        columns = ", ".join(f"e.{c}" for c in schema.EVENT_COLUMNS)
        sql = f"SELECT {columns} FROM fab_event_latest l JOIN fab_event e ON e.id = l.event_id"
        params = []
        if cluster is not None:
            sql += " WHERE l.cluster = ?"
            params.append(cluster)
        return self._events(sql + " ORDER BY l.at DESC, l.event_id DESC", params)

    def clusters(self) -> dict[str, str]:
        """Each cluster named by an event, with the time of its last event."""
        if self._old:
            return {}
        rows = self.execute(
            "SELECT cluster, max(at) FROM fab_event_latest WHERE cluster <> '' "
            "GROUP BY cluster ORDER BY cluster"
        )
        return {cluster: at for cluster, at in rows}

    def add_mark(self, mark: Mark) -> None:
        """Store one mark (its time is now when it has none)."""
        self._writable()
        with self.transaction():
            self.execute(
                "INSERT INTO fab_mark (id, record_id, kind, note, marked_by, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, mark.record_id, mark.kind, mark.note, mark.by, mark.at or now()),
            )
            self.changed()

    def marks(self, record_ids: Sequence[str] | None = None) -> list[Mark]:
        """The marks of ``record_ids`` (all when None), oldest first."""
        if record_ids is None:
            return self._marks("", [])
        found = []
        for chunk in _chunks(list(record_ids)):
            found += self._marks(f" WHERE record_id IN ({_placeholders(len(chunk))})", chunk)
        return sorted(found, key=attrgetter("at"))

    def _marks(self, where: str, params: Sequence[Any]) -> list[Mark]:
        """The marks ``where`` picks, oldest first."""
        from fabrikate.records.events import Mark

        if self._old:
            return []
        sql = f"SELECT record_id, kind, note, marked_by, at FROM fab_mark{where} ORDER BY at"
        return [Mark(*row) for row in self.execute(sql, params)]

    def change_count(self) -> int:
        """The change counter (the number of records, in a version-1 database)."""
        if self._old:
            return int(self.execute("SELECT count(*) FROM fab_record")[0][0])
        return int(self.execute("SELECT value FROM fab_meta WHERE name = 'changes'")[0][0])

    # deployment rows
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return [
            Row(scope, key, self.from_json(fields), str(version), created, updated)
            for scope, key, fields, version, created, updated in self.execute(sql, params)
        ]

    _SELECT = "SELECT scope, row_key, fields, version, created_at, updated_at FROM fab_deployment"

    def find_rows(self, scope: str, name: str, value: str) -> list[Row]:
        """Rows of ``scope`` whose field ``name`` equals ``value``, newest first."""
        if name == "RowKey":
            expr, params = "row_key", [scope, value]
        else:
            expr, param = self.field(name)
            params = [scope, param, value]
        return self._rows(
            f"{self._SELECT} WHERE scope = ? AND {expr} = ? ORDER BY created_at DESC, row_key",
            params,
        )

    def rows(self, scope: str | None, limit: int | None = None) -> list[Row]:
        """Rows, newest first."""
        sql, params = self._SELECT, []
        if scope is not None:
            sql += " WHERE scope = ?"
            params.append(scope)
        sql += " ORDER BY created_at DESC, row_key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._rows(sql, params)

    def insert_row(self, row: Row) -> bool:
        """Insert a new row; False if its key is taken."""
        stamp = now()
        return (
            self.execute_count(
                "INSERT INTO fab_deployment (scope, row_key, fields, version, created_at, "
                "updated_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING",
                (row.scope, row.row_key, self.to_json(row.fields), stamp, stamp),
            )
            == 1
        )

    def merge_row(self, row: Row, fields: Mapping[str, str]) -> bool:
        """Merge ``fields`` into ``row``; False if it changed since it was read."""
        merged = {**row.fields, **fields}
        return (
            self.execute_count(
                "UPDATE fab_deployment SET fields = ?, version = version + 1, updated_at = ? "
                "WHERE scope = ? AND row_key = ? AND version = ?",
                (self.to_json(merged), now(), row.scope, row.row_key, int(row.version)),
            )
            == 1
        )

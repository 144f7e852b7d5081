"""Benchmark the record stores at dashboard scale: bulk events, records, pages and latest rows.

    python bench/store.py [--events 100000] [--records 100000] [--postgresql URL]

For SQLite (a temp file) and, given a URL of an empty database, PostgreSQL it times: one
``add_events`` of N events (one transaction, executemany), the same call again (all already
stored), adding N records in one transaction, the first page of ``query`` (50 records), a page
deep in the keyset order, a filtered page (ring), ``latest()`` and ``events(cluster=…)`` with
a limit. Each read is the median of five runs. It prints one line per measurement.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fabrikate.records import open_store
from fabrikate.records.events import ClusterEvent
from fabrikate.records.stores.base import RecordQuery, Store
from fabrikate.records.stores.sql import SqlStore

PAGE = 50


def _events(count: int) -> list[ClusterEvent]:
    return [
        ClusterEvent.make(
            source="flux",
            cluster=f"cluster-{n % 8}",
            ring=None,
            environment="prod",
            kind="Kustomization",
            namespace="flux-system",
            name=f"app-{n % 400}",
            revision=f"{n % 5000:040x}",
            state="applied",
            reason="ReconciliationSucceeded",
            message=None,
            at=f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:{n % 60:02d}+00:00",
        )
        for n in range(count)
    ]


def _record(n: int) -> dict[str, Any]:
    ident = str(uuid.uuid4())
    return {
        "id": ident,
        "rowKey": ident.replace("-", "")[:12],
        "scope": "hld",
        "environment": ("dev", "staging", "prod")[n % 3],
        "ring": f"ring-{n % 6}",
        "service": f"svc-{n % 40}",
        "startedAt": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00+00:00",
        "outcome": "failed" if n % 10 == 0 else "succeeded",
        "ci": {"provider": "github", "reason": "push", "validationOnly": False},
        "hld": {"commit": f"{n:040x}", "commitAuthor": f"author {n % 30}"},
        "components": [{"name": f"svc-{n % 40}"}, {"name": "ingress"}],
        "images": [{"image": f"registry.example/svc-{n % 40}:{n}"}],
    }


def _once(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _median(action: Callable[[], Any]) -> float:
    return median(_once(action)[0] for _ in range(5))


def _report(name: str, what: str, seconds: float, extra: str = "") -> None:
    print(f"{name:11} {what:34} {seconds * 1000:10.1f} ms {extra}")


def _bench(name: str, store: Store, events: int, records: int) -> None:
    batch = _events(events)
    seconds, added = _once(lambda: store.add_events(batch))
    _report(name, f"add_events({events})", seconds, f"{added} new, {events / seconds:,.0f}/s")
    seconds, added = _once(lambda: store.add_events(batch))
    _report(name, f"add_events({events}) again", seconds, f"{added} new")
    assert isinstance(store, SqlStore)

    def add_all() -> None:
        with store.transaction():
            for n in range(records):
                store.add(_record(n))

    seconds, _ = _once(add_all)
    _report(name, f"add {records} records", seconds, f"{records / seconds:,.0f}/s")
    first = store.query(RecordQuery(limit=PAGE))
    _report(name, "query first page", _median(lambda: store.query(RecordQuery(limit=PAGE))))
    deep = store.query(RecordQuery(limit=PAGE, since="2025-06-01"))[-1]
    cursor = (deep["startedAt"], deep["id"])
    _report(
        name,
        "query page by keyset (mid-order)",
        _median(lambda: store.query(RecordQuery(before=cursor, limit=PAGE))),
    )
    _report(
        name,
        "query ring + service page",
        _median(lambda: store.query(RecordQuery(ring="ring-1", service="svc-7", limit=PAGE))),
    )
    _report(name, "latest()", _median(store.latest), f"{len(store.latest())} rows")
    _report(
        name,
        "events(cluster, limit 50)",
        _median(lambda: store.events(cluster="cluster-3", limit=PAGE)),
    )
    _report(
        name, "latest_events(cluster)", _median(lambda: store.latest_events(cluster="cluster-3"))
    )
    assert len(first) == PAGE


def main() -> None:
    """Run the benchmark on SQLite and, when given, PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--postgresql", help="URL of an empty PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite:///{folder}/records.db"}
        if args.postgresql:
            urls["postgresql"] = args.postgresql
        for name, url in urls.items():
            store = open_store(url)
            assert store is not None
            with store:
                _bench(name, store, args.events, args.records)


if __name__ == "__main__":
    main()

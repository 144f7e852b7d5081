"""PostgreSQL keeps the landings as SQLite and memory do: random histories, events before and
after their records, give the figures a recomputation from the raw events gives."""

from __future__ import annotations

from fabrikate.records import open_store
from fabrikate.records.events import ClusterEvent
from fabrikate.records.metrics import dora, figures
from fabrikate.records.stores.base import RecordQuery
from fabrikate.records.stores.dora import dora_facts
from tests.fixtures.dora_data import WINDOW, history


def test_postgresql_landings_give_the_figures_of_the_raw_events(postgres_url: str) -> None:
    with open_store(postgres_url) as store:  # type: ignore[union-attr]
        events: list[ClusterEvent] = []  # every one stored so far: the histories share commits
        for seed in range(12):  # one database: each history in its own scope
            made = history(seed)
            events += made.events
            for record in made.records:
                record["scope"] = f"s{seed}"
            store.add_events(made.events_before)
            store.add_all(made.records)
            store.add_events(made.events_after)
            for mark in made.marks:
                store.add_mark(mark)
            rows = store.dora_rows(RecordQuery(scope=f"s{seed}"))
            assert [row.id for row in rows] == [r["id"] for r in made.records]
            facts = store.dora_facts(RecordQuery(scope=f"s{seed}"), WINDOW[0].isoformat())
            assert facts == dora_facts(rows, made.marks, WINDOW[0].isoformat())
            expected = dora(made.records, events, made.marks, *WINDOW)
            assert figures(facts.deployments, *WINDOW) == expected

"""The landings a store keeps as events arrive give the figures a recomputation from the raw
events gives, whatever the order events and records arrive in (SQLite and memory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabrikate.records.events import ClusterEvent
from fabrikate.records.metrics import dora, figures
from fabrikate.records.stores.base import RecordQuery, Store, view
from fabrikate.records.stores.dora import DORA_FIELDS, dora_facts, dora_row, landings
from tests.fixtures.dora_data import WINDOW, history


def _landing(record: dict[str, Any], events: list[ClusterEvent]) -> tuple[str | None, bool]:
    """By definition: the events whose revision is the manifest commit (one of 7 characters or
    more, any case), the first applied or healthy one's time, and whether any failed."""
    commit = (record["manifest"]["commit"] or "").lower()
    about = [e for e in events if len(commit) >= 7 and e.revision == commit]
    landed = sorted(e.at for e in about if e.state in ("applied", "healthy"))
    return (landed[0] if landed else None), any(e.state == "failed" for e in about)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 2**32))
def test_stored_landings_give_the_figures_of_the_raw_events(
    new_store: Callable[[], Store], seed: int
) -> None:
    made = history(seed)
    store = new_store()
    store.add_events(made.events_before)
    store.add_all(made.records)
    store.add_events(made.events_after)
    store.add_events(made.events_before[:3])  # again: nothing changes
    for mark in made.marks:
        store.add_mark(mark)
    rows = store.dora_rows(RecordQuery())
    assert [(r.landed_at, r.event_failed) for r in rows] == [
        _landing(r, made.events) for r in made.records
    ]
    landed = landings(made.events)
    assert rows == [dora_row(view(r, DORA_FIELDS), landed) for r in made.records]
    expected = dora(made.records, made.events, made.marks, *WINDOW)
    since = WINDOW[0].isoformat()
    facts = store.dora_facts(RecordQuery(), since)
    assert facts == dora_facts(rows, made.marks, since)
    assert facts.records == len(made.records)
    assert figures(facts.deployments, *WINDOW) == expected

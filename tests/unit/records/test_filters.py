"""Filters from URL and CLI parameters (ours and Spektate's), and cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fabrikate.errors import InputError
from fabrikate.records.filters import (
    Filters,
    Page,
    cursor_after,
    read_cursor,
    read_row_cursor,
    row_cursor,
)
from fabrikate.records.stores.base import RecordQuery


class MultiDict(dict):
    """A URL query that repeats a name (like Starlette's QueryParams)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]


def test_our_names_are_read_and_written_back() -> None:
    params = {"service": "api", "ring": "canary", "environment": "prod", "outcome": "Failed"}
    filters = Filters.from_params({**params, "commit": "ABCDEF1", "since": "7d"})
    assert filters.outcome == "failed" and filters.commit == "abcdef1"
    assert filters.to_params() == {
        **params,
        "outcome": "failed",
        "commit": "abcdef1",
        "since": "7d",
    }
    assert Filters.from_params(filters.to_params()) == filters


def test_spektate_url_parameters_keep_working() -> None:
    query = MultiDict(
        [
            ("keyword", "hello"),
            ("env", "master"),
            ("type", "Bedrock Deployments"),
            ("limit", "50"),
            ("refresh", "30"),
            ("author", "ann"),
        ]
    )
    filters = Filters.from_params(query)
    assert filters == Filters(keyword="hello", ring="master", type="pipeline", author="ann")
    assert Filters.from_params({"type": "Manual HLD Edits"}).type == "manual"


def test_empty_values_filter_nothing() -> None:
    assert Filters.from_params({"service": "", "ring": "  "}) == Filters()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"colour": "red"}, "unknown filter 'colour'"),
        ({"outcome": "exploded"}, "outcome 'exploded'"),
        ({"type": "nightly"}, "type 'nightly'"),
        ({"since": "yesterday"}, "since 'yesterday'"),
        ({"until": "2h ago"}, "until '2h ago'"),
        ({"commit": "xyz123"}, "commit 'xyz123'"),
        ({"keyword": "x" * 201}, "too long"),
        ({"service": "a\nb"}, "control characters"),
        ({"env": "a", "ring": "b"}, "given twice"),
    ],
)
def test_bad_filters_are_one_clear_input_error(params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Filters.from_params(params)


def test_a_repeated_name_with_two_values_is_refused() -> None:
    with pytest.raises(InputError, match="takes one value"):
        Filters.from_params(MultiDict([("service", "a"), ("service", "b")]))


def test_ages_and_dates_become_utc_times() -> None:
    filters = Filters(since="2h", until="2026-03-01")
    since = datetime.fromisoformat(filters.since_iso or "")
    assert abs(datetime.now(UTC) - timedelta(hours=2) - since) < timedelta(minutes=5)
    assert filters.until_iso == "2026-03-01T00:00:00+00:00"
    assert Filters().since_iso is None


def test_cursors_round_trip_and_bad_ones_are_input_errors() -> None:
    record = {"startedAt": "2026-03-01T12:00:00+00:00", "id": "0123-abcd"}
    cursor = cursor_after(record)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert read_cursor(cursor) == ("2026-03-01T12:00:00+00:00", "0123-abcd")
    for bad in ("%%%", "bm90LWEtdGltZXxpZA", "MjAyNi0wMy0wMQ", "x" * 300):
        with pytest.raises(InputError, match="bad cursor"):
            read_cursor(bad)


def test_row_cursors_carry_any_scope_and_service_name() -> None:
    assert read_row_cursor(row_cursor("team|a", "svc|1")) == ("team|a", "svc|1")
    with pytest.raises(InputError, match="bad cursor"):
        read_row_cursor(cursor_after({"startedAt": "2026-03-01", "id": "x"}))


def test_a_page_as_data() -> None:
    assert Page([{"id": "a"}], "c1").to_data() == {"items": [{"id": "a"}], "next": "c1"}
    assert Page([], None, {"collapsed": 2}).to_data() == {"items": [], "next": None, "collapsed": 2}


def test_the_store_query_of_the_filters() -> None:
    filters = Filters(type="pr", since="2026-01-01", commit="ABC1", ring="canary", cluster="east")
    assert filters.query(limit=5, before=("2026-02-01", "x")) == RecordQuery(
        ring="canary",
        kind="pr",
        since="2026-01-01T00:00:00+00:00",
        commit="abc1",
        before=("2026-02-01", "x"),
        limit=5,
    )  # the cluster is matched through events, by the query layer

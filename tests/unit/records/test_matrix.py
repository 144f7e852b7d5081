"""What runs where, over a hand-built store: columns, cells, states, drift and pivots."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fabrikate.errors import InputError
from fabrikate.records.compare import compare
from fabrikate.records.filters import Filters
from fabrikate.records.matrix import matrix
from fabrikate.records.overview import glance
from fabrikate.records.stores.base import Store
from fabrikate.records.stores.memory import MemoryStore
from tests.fixtures.record_data import T0, event_for, make_record

H = timedelta(hours=1)
RINGS = {"declared": ("main", "canary", "beta"), "default": "main"}
# api: main went 1.0.0 -> 1.1.0; canary runs 1.2.0 (ahead). web: main only.
M1 = make_record("m1", service="api", ring="main", tag="1.0.0", at=T0, **RINGS)
M2 = make_record("m2", service="api", ring="main", tag="1.1.0", at=T0 + H, **RINGS)
C1 = make_record("c1", service="api", ring="canary", tag="1.2.0", at=T0 + 2 * H, **RINGS)
W1 = make_record("w1", service="web", ring="main", tag="2.0.0", at=T0 + H, **RINGS)
D1 = make_record("d1", service="api", ring="main", environment="dev", tag="1.3.0", at=T0)
FAILED = make_record("f1", service="api", ring="main", tag="9", at=T0 + 3 * H, outcome="failed")
PR = make_record("p1", service="api", ring="main", tag="8", at=T0 + 3 * H, reason="pull_request")
EVENTS = [
    event_for(M2, "healthy", cluster="east"),
    event_for(M1, "applied", cluster="west"),  # west still runs the older main record
    event_for(C1, "failed", cluster="east", name="canary"),
]


@pytest.fixture
def store(new_store: Callable[[], Store]) -> Store:
    opened = new_store()
    for record in (M1, M2, C1, W1, D1, FAILED, PR):
        opened.add(record)
    opened.add_events(EVENTS)
    return opened


def _cells(grid: dict, service: str) -> dict:
    return next(row["cells"] for row in grid["rows"] if row["service"] == service)


def test_ring_columns_default_first_with_declared_rings_never_deployed(store: Store) -> None:
    grid = matrix(store, Filters())
    columns = [(c["key"], c["default"], c["declaredOnly"]) for c in grid["columns"]]
    assert columns == [
        ("dev/main", False, False),
        ("prod/main", True, False),
        ("prod/beta", False, True),
        ("prod/canary", False, False),
    ]
    assert [row["service"] for row in grid["rows"]] == ["api", "web"]


def test_cells_show_the_newest_succeeded_non_pr_record_and_its_state(store: Store) -> None:
    api = _cells(matrix(store, Filters()), "api")
    assert api["prod/main"]["version"] == "1.1.0" and api["prod/main"]["recordId"] == M2["id"]
    assert api["prod/main"]["state"] == "healthy"
    assert api["prod/main"]["clusters"] == {"east": "healthy"}
    assert api["prod/canary"]["state"] == "failed"
    assert api["dev/main"]["state"] == "committed"
    assert "prod/beta" not in api
    assert api["prod/main"]["image"] == "acr.example.com/api:1.1.0"


def test_drift_cluster_behind_and_ring_ahead_of_default(store: Store) -> None:
    api = _cells(matrix(store, Filters()), "api")
    image = "hld/api/api/api"
    assert api["prod/main"]["drift"] == [
        {
            "kind": "clusterBehind",
            "cluster": "west",
            "recordId": M1["id"],
            "version": "1.0.0",
            "differences": [
                {"kind": "image", "name": image, "a": _image("1.1.0"), "b": _image("1.0.0")}
            ],
        }
    ]
    # canary's image differs from main's (one image, and the Deployment object: not counted)
    assert api["prod/canary"]["drift"] == [
        {
            "kind": "aheadOfDefault",
            "ring": "main",
            "version": "1.1.0",
            "changes": 1,
            "differences": [
                {"kind": "image", "name": image, "a": _image("1.1.0"), "b": _image("1.2.0")}
            ],
        }
    ]
    assert _cells(matrix(store, Filters()), "web")["prod/main"]["drift"] == []


def _image(tag: str) -> str:
    return f"acr.example.com/api:{tag}"


def _helm_only(store: Store, main_tag: str, canary_tag: str, chart: str = "0.1.0") -> None:
    """Records without a service name: each helm component is a service, its version the chart
    version, whatever image it runs."""
    for label, ring, tag, hours in (("hm", "main", main_tag, 0), ("hc", "canary", canary_tag, 1)):
        store.add(make_record(label, ring=ring, tag=tag, chart=chart, at=T0 + hours * H, **RINGS))


def test_an_image_change_under_the_same_chart_version_is_drift(
    new_store: Callable[[], Store],
) -> None:
    store = new_store()
    _helm_only(store, "1.0.0", "1.1.0")
    canary = _cells(matrix(store, Filters()), "api")["prod/canary"]
    assert (
        canary["version"]
        == "0.1.0"
        == _cells(matrix(store, Filters()), "api")["prod/main"]["version"]
    )
    assert canary["drift"] == [
        {
            "kind": "aheadOfDefault",
            "ring": "main",
            "version": "0.1.0",
            "changes": 1,
            "differences": [
                {
                    "kind": "image",
                    "name": "hld/api/api/api",
                    "a": _image("1.0.0"),
                    "b": _image("1.1.0"),
                }
            ],
        }
    ]


def test_the_same_images_and_chart_are_no_drift_and_a_chart_change_is(
    new_store: Callable[[], Store],
) -> None:
    same = new_store()
    _helm_only(same, "1.0.0", "1.0.0")
    assert _cells(matrix(same, Filters()), "api")["prod/canary"]["drift"] == []
    charted = new_store()
    _helm_only(charted, "1.0.0", "1.0.0")
    charted.add(make_record("hc2", ring="canary", chart="0.2.0", at=T0 + 2 * H, **RINGS))
    (drift,) = _cells(matrix(charted, Filters()), "api")["prod/canary"]["drift"]
    assert drift["differences"] == [
        {"kind": "component", "name": "hld/api", "a": "0.1.0", "b": "0.2.0"}
    ]


def test_a_cluster_on_an_older_record_of_the_same_output_is_not_behind(
    new_store: Callable[[], Store],
) -> None:
    store = new_store()
    old = make_record("o1", service="api", tag="1.0.0", at=T0, **RINGS)
    again = make_record("o2", service="api", tag="1.0.0", at=T0 + H, changed=False, **RINGS)
    for record in (old, again):
        store.add(record)
    store.add_events([event_for(old, "healthy", cluster="east")])
    cell = _cells(matrix(store, Filters()), "api")["prod/main"]
    assert cell["recordId"] == again["id"] and cell["drift"] == []


def test_filters_narrow_rows_and_columns(store: Store) -> None:
    grid = matrix(store, Filters(environment="prod", service="web"))
    assert [row["service"] for row in grid["rows"]] == ["web"]
    assert {c["environment"] for c in grid["columns"]} == {"prod"}
    assert matrix(store, Filters(service="nothing"))["rows"] == []


def test_environment_pivot_prefers_the_default_ring(store: Store) -> None:
    grid = matrix(store, Filters(), pivot="environment")
    assert [c["key"] for c in grid["columns"]] == ["dev", "prod"]
    api = _cells(grid, "api")
    assert api["prod"]["ring"] == "main" and api["prod"]["version"] == "1.1.0"
    assert api["dev"]["version"] == "1.3.0"


def test_cluster_pivot_shows_what_each_cluster_reports(store: Store) -> None:
    grid = matrix(store, Filters(), pivot="cluster")
    assert [c["key"] for c in grid["columns"]] == ["east", "west"]
    api = _cells(grid, "api")
    assert api["west"]["version"] == "1.0.0" and api["west"]["state"] == "applied"
    assert api["east"]["version"] in ("1.1.0", "1.2.0")
    assert {c["name"]: c["environment"] for c in grid["clusters"]} == {
        "east": "prod",
        "west": "prod",
    }


def test_rows_come_in_pages_with_the_same_columns(store: Store) -> None:
    whole = matrix(store, Filters())
    first = matrix(store, Filters(), limit=1)
    assert [r["service"] for r in first["rows"]] == ["api"]
    assert first["columns"] == whole["columns"] and first["rows"][0] == whole["rows"][0]
    second = matrix(store, Filters(), limit=1, cursor=first["next"])
    assert [r["service"] for r in second["rows"]] == ["web"] and second["next"] is None
    by_cluster = matrix(store, Filters(), pivot="cluster", limit=1)
    assert [r["service"] for r in by_cluster["rows"]] == ["api"]
    with pytest.raises(InputError, match="bad cursor"):
        matrix(store, Filters(), limit=1, cursor="@@@")
    with pytest.raises(InputError, match="limit 0"):
        matrix(store, Filters(), limit=0)


def test_an_unknown_pivot_is_an_input_error(store: Store) -> None:
    with pytest.raises(InputError, match="pivot 'sideways'"):
        matrix(store, Filters(), pivot="sideways")


def test_an_empty_store_has_an_empty_matrix(new_store: Callable[[], Store]) -> None:
    assert matrix(new_store(), Filters()) == {
        "pivot": "ring",
        "columns": [],
        "rows": [],
        "clusters": [],
        "next": None,
    }


class GlancingStore(MemoryStore):
    """A store whose latest table keeps glances, not whole records (``facts.glance``)."""

    def latest(self, **where: Any) -> list[dict[str, Any]]:
        return [glance(record) for record in super().latest(**where)]


def test_a_latest_table_of_glances_answers_the_same() -> None:
    store = GlancingStore(f"memory://glances-{uuid.uuid4().hex}")
    for record in (M1, M2, C1, W1, D1, FAILED, PR):
        store.add(record)
    store.add_events(EVENTS)
    whole = MemoryStore(store.url)  # the same records, whole
    for pivot in ("ring", "environment", "cluster"):
        assert matrix(store, Filters(), pivot=pivot) == matrix(whole, Filters(), pivot=pivot)
    answer = compare(store, "ring:main", "ring:canary", service="api")
    assert answer["objects"]["known"] is True and answer["b"]["recordId"] == C1["id"]


def test_a_sql_stores_decoded_latest_rows_are_kept_out_of_collections(tmp_path: Path) -> None:
    import gc

    from fabrikate.records.stores import open_store

    opened = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    assert opened is not None
    with opened:
        for record in (M1, M2, C1, W1):
            opened.add(record)
        gc.unfreeze()
        matrix(opened, Filters())
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        matrix(opened, Filters())  # every glance cached: nothing new to settle
        again = gc.get_freeze_count()
    assert frozen > 0 and again == 0

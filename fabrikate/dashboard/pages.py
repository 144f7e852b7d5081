"""Every page of the dashboard as data: what the query layer answers, and the template that
shows it. The server renders them as HTML and as their ``/api/v1/`` JSON twins; the static
export renders the same ones to files.

    page = PAGES["deployment"](store, "3f2a", {})
    page.data        # the JSON twin (credentials masked)
    page.template    # 'deployment.html'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fabrikate.errors import InputError
from fabrikate.records import queries
from fabrikate.records.mask import mask_tree

if TYPE_CHECKING:
    from fabrikate.records.stores.base import Store

__all__ = ["PAGES", "PIVOTS", "Page", "PageFunction", "page_params"]

PIVOTS = ("ring", "environment", "cluster")
MAX_LIMIT = 200
_WINDOW_DEFAULT = "30d"


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its template and title, its data (the JSON twin), and what only the HTML
    needs (the filters in force, say)."""

    template: str
    title: str
    data: dict[str, Any]
    view: dict[str, Any] = field(default_factory=dict)


PageFunction = Callable[["Store", "str | None", Mapping[str, str]], Page]


def page_params(params: Mapping[str, str], *own: str) -> tuple[dict[str, str], dict[str, str]]:
    """The parameters a page reads itself, and the rest (the filters)."""
    mine = {k: v for k, v in params.items() if k in own}
    return mine, {k: v for k, v in params.items() if k not in own}


def _limit(text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InputError(f"limit {text[:20]!r}: want a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def _flag(name: str, text: str | None) -> bool:
    if text in (None, "", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise InputError(f"{name} {text[:20]!r}: want true or false")


def _masked(data: Any) -> dict[str, Any]:
    return dict(mask_tree(data))


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def matrix(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """What runs where: services by rings within environments and clusters."""
    own, rest = page_params(params, "pivot")
    pivot = own.get("pivot") or "ring"
    if pivot not in PIVOTS:
        raise InputError(f"pivot {pivot[:20]!r}: want one of {', '.join(PIVOTS)}")
    filters = queries.Filters.from_params(rest)
    data = _masked(queries.matrix(store, filters, pivot=pivot))
    view = {"filters": filters.to_params(), "pivot": pivot, "pivots": PIVOTS, "asOf": _now()}
    return Page("matrix.html", "What runs where", data, view)


def deployments(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """Deployments, newest first, filtered, a page at a time."""
    own, rest = page_params(params, "cursor", "limit", "all", "refresh")
    filters = queries.Filters.from_params(rest)
    show_all = _flag("all", own.get("all"))
    page = queries.deployments(
        store,
        filters,
        cursor=own.get("cursor") or None,
        limit=_limit(own.get("limit"), 50),
        collapse=not show_all,
    )
    view = {"filters": filters.to_params(), "all": show_all, "asOf": _now()}
    return Page("deployments.html", "Deployments", _masked(page.to_data()), view)


def deployment(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """One deployment: its journey, components, images, validation, raw record."""
    data = _masked(queries.deployment(store, key or ""))
    record_id = (data.get("record") or {}).get("rowKey") or key
    return Page("deployment.html", f"Deployment {record_id}", data, {"asOf": _now()})


def compare(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """Two records, environments or rings side by side."""
    own, rest = page_params(params, "a", "b")
    if rest:
        raise InputError(f"compare takes a and b, not {', '.join(sorted(rest))}")
    a, b = own.get("a", "").strip(), own.get("b", "").strip()
    if not a or not b:
        raise InputError("compare needs a and b (record ids, environments or rings)")
    data = _masked(queries.compare(store, a, b))
    return Page("compare.html", f"Compare {a} and {b}", data, {"a": a, "b": b})


def environment(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """Consecutive generations of one environment with what changed between them."""
    own, rest = page_params(params, "cursor", "limit")
    if rest:
        raise InputError(f"unknown parameter {sorted(rest)[0]!r} (want cursor or limit)")
    page = queries.environment_history(
        store, key or "", cursor=own.get("cursor") or None, limit=_limit(own.get("limit"), 20)
    )
    data = _masked(page.to_data())
    return Page("environment.html", f"Environment {key}", data, {"environment": key})


def ring(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """One ring: branch, default flag, route check, services against the default ring."""
    data = _masked(queries.ring(store, key or ""))
    return Page("ring.html", f"Ring {key}", data)


def cluster(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """One cluster: the last event per object, the applied revision, health."""
    data = _masked(queries.cluster(store, key or ""))
    return Page("cluster.html", f"Cluster {key}", data)


def metrics(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
    """DORA figures per environment, ring and service, each with its definition."""
    own, rest = page_params(params, "window")
    filters = queries.Filters.from_params(rest)
    window = own.get("window") or _WINDOW_DEFAULT
    data = _masked(queries.metrics(store, filters, window=window))
    view = {"filters": filters.to_params(), "window": window}
    return Page("metrics.html", "Metrics", data, view)


def _no_params(function: PageFunction) -> PageFunction:
    """A page that takes no query parameters refuses any."""

    def checked(store: Store, key: str | None, params: Mapping[str, str]) -> Page:
        if params:
            raise InputError(f"unknown parameter {sorted(params)[0]!r}")
        return function(store, key, params)

    checked.__doc__ = function.__doc__
    return checked


PAGES: dict[str, PageFunction] = {
    "matrix": matrix,
    "deployments": deployments,
    "deployment": _no_params(deployment),
    "compare": compare,
    "environment": environment,
    "ring": _no_params(ring),
    "cluster": _no_params(cluster),
    "metrics": metrics,
}

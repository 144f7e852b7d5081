"""Every page of the dashboard as data: what the query layer answers, and the template that
shows it. The server renders them as HTML and as their ``/api/v1/`` JSON twins; the static
export renders the same ones to files.

    page = PAGES["deployment"](Source(store), "3f2a", {})
    page.data        # the JSON twin (credentials masked)
    page.template    # 'deployment.html'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import InputError
from fabrikate.records import queries
from fabrikate.records.mask import mask_tree
from fabrikate.records.matrix import PIVOTS

if TYPE_CHECKING:
    from fabrikate.records.gitinfo import Ancestry
    from fabrikate.records.stores.base import Store

__all__ = ["PAGES", "Page", "PageFunction", "Source"]

MAX_LIMIT = 200
MATRIX_ROWS = 100  # services on one page of the matrix (its JSON twin: the same, or ?limit=)
CHART_BARS = 20  # bars of one metrics chart (the largest values); the JSON twin has every group
TABLE_GROUPS = 200  # rows of the metrics table
_WINDOW_DEFAULT = "30d"


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its template and title, its data (the JSON twin), and what only the HTML
    needs (the filters in force, say)."""

    template: str
    title: str
    data: dict[str, Any]
    view: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Source:
    """What the pages read: the store, and a clone of the manifest repository when given (a
    cluster past a record's manifest commit then runs it: ``superseded``)."""

    store: Store
    ancestry: Ancestry | None = None

    @classmethod
    def of(cls, store: Store, manifest_repo: Path | None) -> Source:
        """The source of ``store``, with the commits of the clone ``manifest_repo``."""
        if manifest_repo is None:
            return cls(store)
        from fabrikate.records.gitinfo import Ancestry

        return cls(store, Ancestry.open(Path(manifest_repo)))


PageFunction = Callable[[Source, "str | None", Mapping[str, str]], Page]


def _filters(params: Mapping[str, str], *own: str) -> queries.Filters:
    """The filters of a page's query, which also takes the parameters ``own``."""
    return queries.Filters.from_params(params, allow=own)


def _only(params: Mapping[str, str], *own: str) -> None:
    """A page that takes no filters refuses any other parameter."""
    extra = sorted(k for k in params if k not in own)
    if extra:
        wanted = f" (want {', '.join(own)})" if own else ""
        raise InputError(f"unknown parameter {extra[0][:40]!r}{wanted}")


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


def matrix(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """What runs where: services by rings within environments and clusters."""
    pivot = params.get("pivot") or "ring"
    filters = _filters(params, "pivot", "cursor", "limit")
    cursor, limit = params.get("cursor") or None, _limit(params.get("limit"), MATRIX_ROWS)
    data = _masked(
        queries.matrix(
            source.store,
            filters,
            pivot=pivot,
            limit=limit,
            cursor=cursor,
            ancestry=source.ancestry,
        )
    )
    view = {"filters": filters.to_params(), "pivot": pivot, "pivots": PIVOTS, "asOf": _now()}
    return Page("matrix.html", "What runs where", data, view)


def deployments(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """Deployments, newest first, filtered, a page at a time."""
    filters = _filters(params, "cursor", "limit", "all", "refresh")
    show_all = _flag("all", params.get("all"))
    page = queries.deployments(
        source.store,
        filters,
        cursor=params.get("cursor") or None,
        limit=_limit(params.get("limit"), 50),
        collapse=not show_all,
    )
    view = {"filters": filters.to_params(), "all": show_all, "asOf": _now()}
    return Page("deployments.html", "Deployments", _masked(page.to_data()), view)


def deployment(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """One deployment: its journey, components, images, validation, raw record."""
    _only(params)
    data = _masked(queries.deployment(source.store, key or "", ancestry=source.ancestry))
    record_id = (data.get("record") or {}).get("rowKey") or key
    return Page("deployment.html", f"Deployment {record_id}", data, {"asOf": _now()})


def compare(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """Two records, environments or rings side by side."""
    _only(params, "a", "b", "service")
    a, b = params.get("a", "").strip(), params.get("b", "").strip()
    if not a or not b:
        raise InputError("compare needs a and b (record ids, environments or rings)")
    service = params.get("service") or None
    data = _masked(queries.compare(source.store, a, b, service=service))
    view = {"a": a, "b": b, "service": service or ""}
    return Page("compare.html", f"Compare {_brief(a)} and {_brief(b)}", data, view)


def _brief(ref: str) -> str:
    """A record id as its first 12 characters; a name as it is."""
    return ref if len(ref) <= 20 else ref[:12] + "…"


def environment(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """Consecutive generations of one environment with what changed between them."""
    _only(params, "cursor", "limit")
    page = queries.environment_history(
        source.store,
        key or "",
        cursor=params.get("cursor") or None,
        limit=_limit(params.get("limit"), 20),
    )
    data = _masked(page.to_data())
    return Page("environment.html", f"Environment {key}", data, {"environment": key})


def ring(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """One ring: branch, default flag, route check, services against the default ring."""
    _only(params)
    data = _masked(queries.ring(source.store, key or ""))
    return Page("ring.html", f"Ring {key}", data)


def cluster(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """One cluster: the last event per object, the applied revision, health."""
    _only(params)
    data = _masked(queries.cluster(source.store, key or ""))
    return Page("cluster.html", f"Cluster {key}", data)


def metrics(source: Source, key: str | None, params: Mapping[str, str]) -> Page:
    """DORA figures per environment, ring and service, each with its definition."""
    filters = _filters(params, "window")
    window = params.get("window") or _WINDOW_DEFAULT
    data = _masked(queries.metrics(source.store, filters, window=window))
    groups = data["groups"]
    view = {
        "filters": filters.to_params(),
        "window": window,
        "charts": _charts(groups),
        "rows": groups[:TABLE_GROUPS],
    }
    return Page("metrics.html", "Metrics", data, view)


def _charts(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chart per figure: the ``CHART_BARS`` groups with the largest values."""
    charts: dict[str, dict[str, Any]] = {}
    for group in groups:
        for figure in group["figures"]:
            chart = charts.setdefault(figure["key"], {**figure, "bars": []})
            chart["bars"].append((group, figure))
    for chart in charts.values():
        bars = chart["bars"]
        bars.sort(key=lambda bar: (bar[1]["value"] is None, -(bar[1]["value"] or 0)))
        chart["total"], chart["bars"] = len(bars), bars[:CHART_BARS]
    return list(charts.values())


PAGES: dict[str, PageFunction] = {
    "matrix": matrix,
    "deployments": deployments,
    "deployment": deployment,
    "compare": compare,
    "environment": environment,
    "ring": ring,
    "cluster": cluster,
    "metrics": metrics,
}

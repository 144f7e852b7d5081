"""Pages as HTML: one Jinja2 environment (autoescaped) for the server and the export.

html = render(page, links=ServerLinks(), here="/deployments?ring=prod")
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from fabrikate._version import __version__
from fabrikate.dashboard.charts import Bar, bar_chart
from fabrikate.dashboard.links import Links
from fabrikate.dashboard.pages import Page

__all__ = ["environment", "render", "render_template"]


def _parse(iso: str | None) -> datetime | None:
    if not iso or not isinstance(iso, str):
        return None
    try:
        at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def age(iso: str | None, now: str | None = None) -> str:
    """How long ago: ``5m``, ``3h``, ``2d`` (empty when unknown)."""
    at, ref = _parse(iso), _parse(now) or datetime.now(UTC)
    if at is None:
        return ""
    seconds = max(0, int((ref - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def when(iso: str | None) -> str:
    """A time as ``2026-12-02 15:07 UTC``."""
    at = _parse(iso)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else ""


def duration(value: float | None, unit: str = "ms") -> str:
    """``1h 2m``, ``3m 4s`` or ``5s`` from milliseconds (or seconds)."""
    if value is None:
        return ""
    seconds = int(value / 1000 if unit == "ms" else value)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def short(value: Any) -> str:
    """A commit as its first 7 characters; anything else as text."""
    text = "" if value is None else str(value)
    is_sha = len(text) >= 12 and all(c in "0123456789abcdef" for c in text.lower())
    return text[:7] if is_sha else text


def pretty(value: Any) -> str:
    """Plain data as indented JSON."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def figure(value: float | None, unit: str = "") -> str:
    """A DORA figure's number with its unit."""
    if value is None:
        return "n/a"
    if unit in ("seconds", "s"):
        return duration(value, "s")
    if unit in ("ratio", "fraction"):
        return f"{value * 100:.0f}%"
    number = f"{value:.0f}" if value == int(value) else f"{value:.2f}"
    return f"{number} {unit}".strip()


def chart(
    bars: list[tuple[str, float | None, str | None]], unit: str = "", title: str = ""
) -> Markup:
    """An SVG bar chart from (label, value, link) triples."""
    return bar_chart([Bar(*b) for b in bars], unit=unit, title=title)


@functools.cache
def environment() -> jinja2.Environment:
    """The templates of the package, autoescaped; a missing key renders empty (records of
    older schemas lack fields)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fabrikate.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(
        age=age, when=when, duration=duration, short=short, pretty=pretty, figure=figure
    )
    env.globals.update(chart=chart, version=__version__)
    return env


def render_template(name: str, *, links: Links, here: str, **context: Any) -> str:
    """One template with the context every page has."""
    template = environment().get_template(name)
    return template.render(links=links, here=here, **context)


def render(page: Page, *, links: Links, here: str, title: str = "fab dashboard") -> str:
    """A page as HTML."""
    return render_template(
        page.template,
        links=links,
        here=here,
        site=title,
        title=page.title,
        data=page.data,
        view=page.view,
    )

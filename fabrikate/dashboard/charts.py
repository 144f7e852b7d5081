"""Charts drawn on the server as SVG: no script, no inline style (the CSP allows neither).

svg = bar_chart([Bar("prod", 4.0, "/deployments?environment=prod")], unit="per day")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Bar", "bar_chart"]

_ROW = 22  # height of one bar's row
_LABEL = 180  # width of the label column
_WIDTH = 560


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, value (None: nothing measured), the link to what is behind it, and
    the value as shown (default: the number and the chart's unit)."""

    label: str
    value: float | None
    href: str | None = None
    text: str | None = None


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def bar_chart(bars: Sequence[Bar], *, unit: str = "", title: str = "") -> Markup:
    """Horizontal bars scaled to the largest value, each a link; empty bars say "n/a"."""
    top = max((b.value for b in bars if b.value is not None), default=0.0) or 1.0
    span = _WIDTH - _LABEL - 110
    height = _ROW * len(bars) + 6
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{_WIDTH}" height="{height}" viewBox="0 0 {_WIDTH} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for row, bar in enumerate(bars):
        y = row * _ROW + 3
        width = 0 if bar.value is None else max(1, round(span * bar.value / top))
        shown = bar.text or ("n/a" if bar.value is None else f"{_number(bar.value)} {unit}".strip())
        item = (
            f'<text class="chart-label" x="{_LABEL - 6}" y="{y + 14}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
            f'<rect class="chart-bar" x="{_LABEL}" y="{y}" width="{width}" height="{_ROW - 6}"/>'
            f'<text class="chart-value" x="{_LABEL + width + 6}" y="{y + 14}">'
            f"{escape(shown)}</text>"
        )
        if bar.href:
            item = f'<a href="{escape(bar.href)}">{item}</a>'
        parts.append(item)
    parts.append("</svg>")
    return Markup("".join(parts))

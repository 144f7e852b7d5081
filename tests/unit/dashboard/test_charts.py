"""SVG bar charts drawn on the server."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fabrikate.dashboard.charts import Bar, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_scaled_linked_and_escaped() -> None:
    svg = bar_chart(
        [Bar("prod", 4.0, "/deployments?environment=prod&x=1"), Bar("<dev>", 2.0), Bar("qa", None)],
        unit="per day",
        title="frequency",
    )
    root = ET.fromstring(str(svg))
    widths = [int(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<dev>" in texts and "4 per day" in texts and "n/a" in texts
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["/deployments?environment=prod&x=1"]
    assert "style=" not in str(svg) and "<script" not in str(svg)


def test_no_bars_is_an_empty_chart() -> None:
    root = ET.fromstring(str(bar_chart([])))
    assert list(root.iter(f"{SVG}rect")) == []

"""What the pages add to the query layer's answers."""

from __future__ import annotations

from fabrikate.dashboard.pages import CHART_BARS, _charts


def test_a_metrics_chart_keeps_the_largest_groups() -> None:
    groups = [
        {
            "environment": "prod",
            "ring": f"r{i}",
            "service": None,
            "figures": [
                {
                    "key": "leadTime",
                    "name": "lead time",
                    "value": None if i % 7 == 0 else float(i),
                    "unit": "seconds",
                }
            ],
        }
        for i in range(CHART_BARS + 10)
    ]
    [chart] = _charts(groups)
    assert chart["key"] == "leadTime" and chart["total"] == CHART_BARS + 10
    values = [figure["value"] for _, figure in chart["bars"]]
    assert len(values) == CHART_BARS and values == sorted(values, reverse=True)
    assert values[0] == CHART_BARS + 9 and None not in values

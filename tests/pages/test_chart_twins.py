"""The page's plotly charts and the report's matplotlib charts draw one chart description: the
same numbers, intervals, reference lines and failing groups, with user text escaped."""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from app.charts.evidence import group_rates_figure
from app.charts.render import FAIL
from core.charts import group_rates_chart
from core.reports.charts import render_bars

HOSTILE = "<b>under 25</b>"


@pytest.fixture
def groups() -> list[dict[str, Any]]:
    """Selection rates per group of a seeded sample, measured by fairlearn."""
    rng = np.random.default_rng(7)
    band = rng.choice(["26-60", "60+", HOSTILE], size=600, p=[0.6, 0.3, 0.1])
    chance = np.where(band == HOSTILE, 0.25, np.where(band == "60+", 0.45, 0.55))
    predicted = (rng.random(600) < chance).astype(int)
    rates = MetricFrame(
        metrics=selection_rate, y_true=predicted, y_pred=predicted, sensitive_features=band
    ).by_group
    return [
        {
            "group": name,
            "eligible": True,
            "metrics": {
                "selection_rate": {
                    "value": float(rate),
                    "lower": float(rate) - 0.05,
                    "upper": float(rate) + 0.05,
                }
            },
        }
        for name, rate in rates.items()
    ]


def test_the_page_draws_the_numbers_of_the_report_chart(groups: list[dict[str, Any]]) -> None:
    rates = {g["group"]: g["metrics"]["selection_rate"]["value"] for g in groups}
    failing = [HOSTILE]
    chart = group_rates_chart(
        groups,
        {"selection_rate": "selection rate"},
        reference="26-60",
        min_ratio=0.8,
        failing=failing,
    )
    figure = group_rates_figure(
        groups,
        {"selection_rate": "selection rate"},
        reference="26-60",
        min_ratio=0.8,
        failing=failing,
    )
    bars = figure.data[0]
    assert list(bars.y) == [rates[g] for g in chart.categories] == list(chart.series[0].values)
    assert list(bars.error_y.array) == pytest.approx([0.05] * len(groups))
    lines = sorted(shape.y0 for shape in figure.layout.shapes)
    assert lines == pytest.approx(sorted([rates["26-60"], 0.8 * rates["26-60"]]))
    # The failing group is red and labelled; its name is shown as text, not read as markup.
    hostile = list(chart.categories).index(HOSTILE)
    assert bars.marker.color[hostile] == FAIL and bars.text[hostile] == "fails"
    assert bars.x[hostile] == "&lt;b&gt;under 25&lt;/b&gt;"
    # The report draws the same description: the same groups, the failing one marked.
    svg = base64.b64decode(render_bars(chart).split(",", 1)[1]).decode()
    assert f"{html.escape(HOSTILE, quote=False)} (fails)" in svg and "26-60" in svg

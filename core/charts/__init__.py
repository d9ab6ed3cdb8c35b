"""Chart data built once from stored evidence, drawn by plotly on screen and matplotlib in PDFs.

One function per chart turns evidence results into a small frozen description (bars with
intervals, lines, point clouds, reference lines); each renderer only draws that description,
so the page and the audit PDF always show the same numbers. Pure: no database, no drawing.
"""

from core.charts.data import Band, BarChart, BarSeries, LineChart, LineSeries, PointChart, RefLine
from core.charts.evidence import calibration_chart, group_rates_chart, roc_chart, segment_chart
from core.charts.explanations import (
    MAX_BEESWARM_FEATURES,
    beeswarm_chart,
    dependence_chart,
    importance_chart,
    partial_dependence_chart,
)

__all__ = [
    "MAX_BEESWARM_FEATURES",
    "Band",
    "BarChart",
    "BarSeries",
    "LineChart",
    "LineSeries",
    "PointChart",
    "RefLine",
    "beeswarm_chart",
    "calibration_chart",
    "dependence_chart",
    "group_rates_chart",
    "importance_chart",
    "partial_dependence_chart",
    "roc_chart",
    "segment_chart",
]

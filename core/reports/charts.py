"""Matplotlib renderers of core.charts data for the PDF: no browser needed.

Bars and lines become vector SVG whose text stays text (``svg.fonttype = "none"``, so it is
searchable in the PDF); dense point clouds become PNG at print resolution. Renders are
deterministic: no dates in the files and fixed element ids.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from core.charts.data import Band, BarChart, LineChart, PointChart, RefLine

__all__ = ["PRINT_DPI", "render_bars", "render_lines", "render_points"]

#: Resolution of raster charts: print quality.
PRINT_DPI = 150
_STYLES = {"dash": "--", "dot": ":", "solid": "-"}
_FAIL = "#b2182b"
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "gatehouse-report",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_COLOURS = LinearSegmentedColormap.from_list("shap", ["#1f77b4", "#c7c7c7", "#d62728"])
mpl.rcParams.update(_RC)  # type: ignore[arg-type]


def _figure(width: float = 6.2, height: float = 2.8, *, left: float = 0.6) -> Figure:
    # Fixed margins (inches) instead of a layout engine: constrained layout costs more than
    # drawing the chart. ``left`` makes room for long category labels.
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=min(left / width, 0.5),
        right=1 - 0.15 / width,
        bottom=0.62 / height,
        top=1 - 0.35 / height,
    )
    return fig


def _label_room(labels: Sequence[str]) -> float:
    """Inches of left margin for the longest label at the chart's font size."""
    return 0.45 + 0.065 * max((len(label) for label in labels), default=4)


def _svg(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="png",
        dpi=PRINT_DPI,
        metadata={"Software": None},
        pil_kwargs={"compress_level": 3},
    )
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _gaps(
    values: Sequence[float | None], lower: Sequence[float | None], upper: Sequence[float | None]
) -> np.ndarray:
    below = [
        max(v - lo, 0.0) if v is not None and lo is not None else 0.0
        for v, lo in zip(values, lower, strict=True)
    ]
    above = [
        max(hi - v, 0.0) if v is not None and hi is not None else 0.0
        for v, hi in zip(values, upper, strict=True)
    ]
    return np.array([below, above])


def _ref_lines(ax: object, lines: Sequence[RefLine]) -> None:
    for line in lines:
        draw = ax.axhline if line.axis == "y" else ax.axvline  # type: ignore[attr-defined]
        draw(
            line.value,
            color=line.colour,
            linestyle=_STYLES[line.style],
            linewidth=1,
            label=line.label or None,
        )


def _band(ax: object, band: Band | None) -> None:
    if band is not None:
        ax.axvspan(band.low, band.high, color="#2ca02c", alpha=0.10, label=band.label or None)  # type: ignore[attr-defined]


def render_bars(chart: BarChart) -> str:
    """Grouped bars with interval whiskers; small groups faint, failing groups red. SVG."""
    n, k = len(chart.categories), len(chart.series)
    height = max(2.2, 0.28 * n * max(k, 1) + 1.0) if chart.horizontal else 2.8
    fig = _figure(
        height=height, left=_label_room(chart.categories) + 0.5 if chart.horizontal else 0.6
    )
    ax = fig.add_subplot()
    positions = np.arange(n)
    width = 0.8 / max(k, 1)
    for i, series in enumerate(chart.series):
        values = [v if v is not None else 0.0 for v in series.values]
        offsets = positions - 0.4 + width * (i + 0.5)
        colours = [
            _FAIL if chart.failing and chart.failing[j] and k == 1 else series.colour
            for j in range(n)
        ]
        alphas = [0.35 if chart.faint and chart.faint[j] else 1.0 for j in range(n)]
        errors = _gaps(series.values, series.lower, series.upper)
        whiskers = {"elinewidth": 0.8, "capsize": 2}
        if chart.horizontal:
            bars = ax.barh(offsets, values, width, label=series.name, color=colours, xerr=errors,
                           error_kw=whiskers)  # fmt: skip
        else:
            bars = ax.bar(offsets, values, width, label=series.name, color=colours, yerr=errors,
                          error_kw=whiskers)  # fmt: skip
        for patch, alpha in zip(bars, alphas, strict=True):
            patch.set_alpha(alpha)
    _ref_lines(ax, chart.lines)
    labels = list(chart.categories)
    if chart.failing:
        labels = [f"{c} (fails)" if f else c for c, f in zip(labels, chart.failing, strict=True)]
    if chart.faint:
        labels = [f"{c} (small)" if f else c for c, f in zip(labels, chart.faint, strict=True)]
    if chart.horizontal:
        ax.set_yticks(positions, labels)
        ax.set_xlabel(chart.value_title)
    else:
        ax.set_xticks(
            positions, labels, rotation=20 if n > 4 else 0, ha="right" if n > 4 else "center"
        )
        ax.set_ylabel(chart.value_title)
    if k > 1 or chart.lines:
        ax.legend(loc="best", frameon=False, fontsize=7)
    if chart.title:
        ax.set_title(chart.title, loc="left", fontsize=9)
    return _svg(fig)


def render_lines(chart: LineChart) -> str:
    """Lines with optional interval whiskers, reference lines and a shaded band. SVG."""
    fig = _figure()
    ax = fig.add_subplot()
    _band(ax, chart.band)
    thin = [s for s in chart.series if s.thin]
    if thin:
        # Many light curves (ICE) as one collection: one SVG path group, drawn at once.
        segments = [np.column_stack([s.x, [np.nan if v is None else v for v in s.y]]) for s in thin]
        ax.add_collection(
            LineCollection(segments, colors=thin[0].colour, linewidths=0.5, alpha=0.3)
        )
        ax.autoscale_view()
    for series in chart.series:
        if series.thin:
            continue
        y = np.array([np.nan if v is None else v for v in series.y], dtype=float)
        if series.lower:
            ax.errorbar(
                series.x,
                y,
                yerr=_gaps(series.y, series.lower, series.upper),
                color=series.colour,
                marker="o",
                markersize=3,
                linewidth=1.2,
                elinewidth=0.7,
                capsize=2,
                label=series.name or None,
            )
            continue
        ax.plot(
            series.x,
            y,
            color=series.colour,
            linestyle=_STYLES[series.style],
            linewidth=0.5 if series.thin else 1.4,
            alpha=0.3 if series.thin else 1.0,
            marker="o" if series.markers else None,
            markersize=3,
            label=None if series.thin or not series.name else series.name,
        )
    _ref_lines(ax, chart.lines)
    if chart.x_labels:
        ax.set_xticks(range(len(chart.x_labels)), chart.x_labels)
    if chart.x_range:
        ax.set_xlim(*chart.x_range)
    if chart.y_range:
        ax.set_ylim(*chart.y_range)
    ax.set_xlabel(chart.x_title)
    ax.set_ylabel(chart.y_title)
    ax.set_title(chart.title, loc="left", fontsize=9)
    ax.legend(loc="best", frameon=False, fontsize=7)
    return _svg(fig)


def render_points(chart: PointChart) -> str:
    """A dense point cloud, coloured by value where given. PNG at print resolution."""
    ticks = [label for _, label in chart.y_ticks]
    fig = _figure(
        width=6.8 if chart.colour else 6.2,
        height=max(2.6, 0.32 * len(ticks) + 1.0) if ticks else 2.8,
        left=_label_room(ticks) if ticks else 0.6,
    )
    ax = fig.add_subplot()
    _band(ax, chart.band)
    coloured = bool(chart.colour) and any(c is not None for c in chart.colour)
    if coloured:
        values = np.array([0.5 if c is None else c for c in chart.colour], dtype=float)
        points = ax.scatter(
            chart.x, chart.y, c=values, cmap=_COLOURS, vmin=0, vmax=1, s=3, alpha=0.7, linewidths=0
        )
        bar = fig.colorbar(points, ax=ax, ticks=[0, 1], shrink=0.6, pad=0.02)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label(chart.colour_title)
    else:
        ax.scatter(chart.x, chart.y, s=3, alpha=0.6, linewidths=0, color="#1f77b4")
    _ref_lines(ax, chart.lines)
    if chart.y_ticks:
        ax.set_yticks([t for t, _ in chart.y_ticks], [label for _, label in chart.y_ticks])
    ax.set_xlabel(chart.x_title)
    if chart.y_title:
        ax.set_ylabel(chart.y_title)
    ax.set_title(chart.title, loc="left", fontsize=9)
    return _png(fig)

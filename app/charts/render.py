"""Plotly renderers of the chart data in ``core.charts``: the on-screen twin of the report's
matplotlib renderers (core/reports/charts.py), so a page and the audit PDF draw the same numbers.

Every text that reaches plotly (titles, categories, series and line labels) is HTML-escaped
here, once: plotly reads a little HTML in labels, and chart data holds user text as it is.
Pages add what only a screen has (hover details, extra markers) to the figure returned.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from app.charts.common import TOP_LEGEND, layout
from core.charts.data import Band, BarChart, LineChart, PointChart, RefLine

__all__ = ["bar_figure", "line_figure", "point_figure"]

FAIL = "#b2182b"
COLOURSCALE = [[0.0, "#1f77b4"], [0.5, "#c7c7c7"], [1.0, "#d62728"]]
_RANGE_FILL = "rgba(44, 160, 44, 0.10)"
_DASH = {"dash": "dash", "dot": "dot", "solid": "solid"}


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _gaps(
    values: Sequence[float | None], lower: Sequence[float | None], upper: Sequence[float | None]
) -> dict[str, Any] | None:
    """Asymmetric error bars from interval bounds; None when the series has no intervals."""
    if not lower and not upper:
        return None

    def gap(value: float | None, edge: float | None, above: bool) -> float | None:
        if value is None or edge is None:
            return None
        return max(edge - value, 0.0) if above else max(value - edge, 0.0)

    return {
        "type": "data",
        "symmetric": False,
        "array": [gap(v, u, True) for v, u in zip(values, upper, strict=False)],
        "arrayminus": [gap(v, lo, False) for v, lo in zip(values, lower, strict=False)],
    }


def _interval(value: float | None, lower: float | None, upper: float | None) -> str:
    if value is None:
        return "not measured"
    if lower is None or upper is None:
        return f"{value:.3f}"
    return f"{value:.3f} (95% interval {lower:.3f}–{upper:.3f})"


def _ref_lines(fig: go.Figure, lines: Sequence[RefLine]) -> None:
    for k, line in enumerate(lines):
        style = {"dash": _DASH.get(line.style, "dash"), "color": line.colour, "width": 1}
        note: dict[str, Any] = {}
        if line.label:
            note = {
                "annotation_text": _text(line.label),
                "annotation_position": "top left" if k % 2 == 0 else "bottom left",
                "annotation_bgcolor": "rgba(255, 255, 255, 0.95)",
                "annotation_font_color": "#222222",
            }
        if line.axis == "x":
            fig.add_vline(x=line.value, line=style, **note)
        else:
            fig.add_hline(y=line.value, line=style, **note)


def _band(fig: go.Figure, band: Band | None) -> None:
    if band is not None:
        fig.add_vrect(
            x0=band.low,
            x1=band.high,
            fillcolor=_RANGE_FILL,
            line_width=0,
            layer="below",
            annotation_text=_text(band.label),
            annotation_position="top left",
        )


def _title(text: str) -> dict[str, Any]:
    return {"text": _text(text), "x": 0} if text else {}


def bar_figure(chart: BarChart) -> go.Figure:
    """Grouped bars with interval whiskers; small categories faint, failing ones red, outlined
    and labelled "fails", so the group a check fails on is seen at once."""
    n, k = len(chart.categories), len(chart.series)
    names = [_text(c) for c in chart.categories]
    faint = list(chart.faint) or [False] * n
    failing = list(chart.failing) or [False] * n
    fig = go.Figure()
    for series in chart.series:
        colour = [FAIL if f and k == 1 else series.colour for f in failing]
        hover = [
            _interval(v, lo, up) + (" (too small for pass/fail)" if small else "")
            for v, lo, up, small in zip(
                series.values,
                series.lower or [None] * n,
                series.upper or [None] * n,
                faint,
                strict=True,
            )
        ]
        values = list(series.values)
        axis_of_values = "x" if chart.horizontal else "y"
        fig.add_trace(
            go.Bar(
                name=_text(series.name),
                x=values if chart.horizontal else names,
                y=names if chart.horizontal else values,
                orientation="h" if chart.horizontal else "v",
                **{f"error_{axis_of_values}": _gaps(series.values, series.lower, series.upper)},
                marker={
                    "opacity": [0.35 if small else 1.0 for small in faint],
                    "color": colour,
                    "line": {"color": [FAIL if f else series.colour for f in failing], "width": 2},
                },
                text=["fails" if f else "" for f in failing] if k == 1 and any(failing) else None,
                textposition="inside",
                insidetextanchor="start",
                customdata=hover,
                hovertemplate=(
                    f"%{{{'y' if chart.horizontal else 'x'}}}<br>{_text(series.name)}: "
                    "%{customdata}<extra></extra>"
                ),
            )
        )
    _ref_lines(fig, chart.lines)
    value_axis = {"title": _text(chart.value_title)}
    return layout(
        fig,
        barmode="group",
        title=_title(chart.title),
        legend=TOP_LEGEND,
        showlegend=k > 1 or bool(chart.lines),
        **({"xaxis": value_axis} if chart.horizontal else {"yaxis": value_axis}),
        **({"height": max(260, 34 * n * max(k, 1) + 90)} if chart.horizontal else {}),
    )


def line_figure(chart: LineChart) -> go.Figure:
    """Lines with optional interval whiskers, reference lines and a shaded band; thin lines
    (individual curves) drawn as one light trace, the others with their legend."""
    fig = go.Figure()
    thin = [s for s in chart.series if s.thin]
    if thin:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for s in thin:
            xs += [*s.x, None]
            ys += [*s.y, None]
        fig.add_trace(
            go.Scatter(
                x=np.array(xs, dtype=float),
                y=np.array(ys, dtype=float),
                mode="lines",
                line={"color": "rgba(120, 120, 120, 0.25)", "width": 1},
                name=f"individual curves ({len(thin)})",
                hoverinfo="skip",
            )
        )
    for series in chart.series:
        if series.thin:
            continue
        fig.add_trace(
            go.Scatter(
                x=list(series.x),
                y=list(series.y),
                mode="lines+markers" if series.markers else "lines",
                name=_text(series.name),
                line={
                    "color": series.colour,
                    "dash": _DASH.get(series.style, "solid"),
                    "width": 3 if series.markers and thin else 2,
                },
                error_y=_gaps(series.y, series.lower, series.upper),
                customdata=[
                    _interval(v, lo, up)
                    for v, lo, up in zip(
                        series.y,
                        series.lower or [None] * len(series.y),
                        series.upper or [None] * len(series.y),
                        strict=True,
                    )
                ],
                hovertemplate=f"{_text(chart.x_title)} %{{x}}<br>{_text(series.name)}: "
                "%{customdata}<extra></extra>",
            )
        )
    _band(fig, chart.band)
    _ref_lines(fig, chart.lines)
    xaxis: dict[str, Any] = {"title": _text(chart.x_title)}
    if chart.x_range:
        xaxis["range"] = list(chart.x_range)
    if chart.x_labels:
        xaxis |= {
            "tickvals": list(range(len(chart.x_labels))),
            "ticktext": [_text(t) for t in chart.x_labels],
        }
    yaxis: dict[str, Any] = {"title": _text(chart.y_title)}
    if chart.y_range:
        yaxis["range"] = list(chart.y_range)
    return layout(fig, title=_title(chart.title), xaxis=xaxis, yaxis=yaxis, legend=TOP_LEGEND)


def point_figure(chart: PointChart, *, hover: Sequence[str] | None = None) -> go.Figure:
    """A dense point cloud (WebGL), coloured by value where given; ``hover`` is one text per
    point, shown with its x value."""
    coloured = bool(chart.colour) and any(c is not None for c in chart.colour)
    marker: dict[str, Any] = {"size": 4 if coloured else 5, "opacity": 0.7 if coloured else 0.6}
    if coloured:
        marker |= {
            "color": np.array([0.5 if c is None else c for c in chart.colour], dtype=float),
            "coloraxis": "coloraxis",
        }
    fig = go.Figure(
        go.Scattergl(
            x=np.asarray(chart.x, dtype=float),
            y=np.asarray(chart.y, dtype=float),
            mode="markers",
            marker=marker,
            showlegend=False,
            # numpy arrays: plotly validates them at once, lists item by item (slow)
            customdata=np.array([_text(h) for h in hover]) if hover is not None else None,
            hovertemplate=(
                "%{customdata}<br>" if hover is not None else f"{_text(chart.x_title)} %{{x}}<br>"
            )
            + f"{_text(chart.y_title or chart.x_title)} "
            + ("%{x:.4f}" if chart.y_ticks else "%{y:.4f}")
            + "<extra></extra>",
        )
    )
    _band(fig, chart.band)
    _ref_lines(fig, chart.lines)
    yaxis: dict[str, Any] = {"title": _text(chart.y_title)}
    if chart.y_ticks:
        yaxis |= {
            "tickvals": [t for t, _ in chart.y_ticks],
            "ticktext": [_text(label) for _, label in chart.y_ticks],
            "zeroline": False,
        }
    extra: dict[str, Any] = {}
    if coloured:
        extra["coloraxis"] = {
            "colorscale": COLOURSCALE,
            "cmin": 0,
            "cmax": 1,
            "colorbar": {
                "title": {"text": _text(chart.colour_title)},
                "tickvals": [0, 1],
                "ticktext": ["low", "high"],
                "len": 0.6,
            },
        }
    height = max(300, 42 * len(chart.y_ticks) + 100) if chart.y_ticks else 380
    return layout(
        fig,
        title=_title(chart.title),
        xaxis={"title": _text(chart.x_title)},
        yaxis=yaxis,
        height=height,
        **extra,
    )

"""What every figure shares: asymmetric error bars from stored intervals, margins, showing one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import streamlit as st

__all__ = ["MARGIN", "TOP_LEGEND", "error_bars", "layout", "show_figure"]

#: Enough room that axis titles are never clipped and legends below never overlap them.
MARGIN = {"t": 60, "b": 60, "l": 70, "r": 20}
#: Legends above the plot, under the title: they never cover an axis title.
TOP_LEGEND = {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}


def error_bars(estimates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def gap(e: Mapping[str, Any], bound: str, above: bool) -> float | None:
        value, edge = e.get("value"), e.get(bound)
        if value is None or edge is None:
            return None
        return max(edge - value, 0.0) if above else max(value - edge, 0.0)

    return {
        "type": "data",
        "symmetric": False,
        "array": [gap(e, "upper", True) for e in estimates],
        "arrayminus": [gap(e, "lower", False) for e in estimates],
    }


def layout(fig: go.Figure, **kwargs: Any) -> go.Figure:
    """Margins that keep axis titles inside the figure, then the figure's own settings."""
    fig.update_layout(margin=MARGIN, **kwargs)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def show_figure(fig: go.Figure, key: str) -> None:
    """The figure at the width of its column, without plotly's logo."""
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})

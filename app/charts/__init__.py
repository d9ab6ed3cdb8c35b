"""Plotly figures built from stored evidence, as pages show them."""

from __future__ import annotations

from app.charts.common import show_figure

__all__ = ["show_figure"]

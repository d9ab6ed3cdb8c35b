"""The shapes a chart can take: bars with intervals, lines, point clouds and reference lines."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Band", "BarChart", "BarSeries", "LineChart", "LineSeries", "PointChart", "RefLine"]


@dataclass(frozen=True)
class RefLine:
    """A horizontal (``axis="y"``) or vertical (``axis="x"``) line with a label."""

    value: float
    label: str = ""
    axis: str = "y"
    style: str = "dash"  # "dash", "dot" or "solid"
    colour: str = "grey"


@dataclass(frozen=True)
class Band:
    """A shaded range of x values (e.g. the training data's operating range)."""

    low: float
    high: float
    label: str = ""


@dataclass(frozen=True)
class BarSeries:
    """One metric across the categories, with interval bounds (None where unknown)."""

    name: str
    values: tuple[float | None, ...]
    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    colour: str = "#1f77b4"


@dataclass(frozen=True)
class BarChart:
    """Grouped bars per category; faint categories are too small to judge, failing ones red."""

    title: str
    categories: tuple[str, ...]
    series: tuple[BarSeries, ...]
    value_title: str
    horizontal: bool = False
    faint: tuple[bool, ...] = ()
    failing: tuple[bool, ...] = ()
    lines: tuple[RefLine, ...] = ()


@dataclass(frozen=True)
class LineSeries:
    """One line; ``markers`` draws its points, ``thin`` draws it light (e.g. ICE curves)."""

    name: str
    x: tuple[float, ...]
    y: tuple[float | None, ...]
    colour: str = "#1f77b4"
    style: str = "solid"
    markers: bool = False
    thin: bool = False
    lower: tuple[float | None, ...] = ()
    upper: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class LineChart:
    """Lines over a shared x axis, with optional ranges, reference lines and a shaded band."""

    title: str
    x_title: str
    y_title: str
    series: tuple[LineSeries, ...]
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    lines: tuple[RefLine, ...] = ()
    band: Band | None = None
    x_labels: tuple[str, ...] = ()  # categorical x: tick labels at 0, 1, 2, ...


@dataclass(frozen=True)
class PointChart:
    """A dense point cloud: x, y and a colour value in [0, 1] (None: uncoloured) per point."""

    title: str
    x_title: str
    y_title: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    colour: tuple[float | None, ...] = ()
    y_ticks: tuple[tuple[float, str], ...] = field(default_factory=tuple)
    lines: tuple[RefLine, ...] = ()
    band: Band | None = None
    colour_title: str = ""

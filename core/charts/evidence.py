"""Chart data of performance and fairness evidence: group rates, ROC, calibration, segments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.charts.data import BarChart, BarSeries, LineChart, LineSeries, RefLine

__all__ = ["calibration_chart", "group_rates_chart", "roc_chart", "segment_chart"]

PALETTE = ("#1f77b4", "#7f7f7f")
FAIL = "#b2182b"


def _estimates(items: Sequence[Mapping[str, Any]]) -> tuple[tuple[Any, ...], ...]:
    return (
        tuple(e.get("value") for e in items),
        tuple(e.get("lower") for e in items),
        tuple(e.get("upper") for e in items),
    )


def group_rates_chart(
    groups: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, str],
    *,
    reference: str | None = None,
    min_ratio: float | None = None,
    value_title: str = "rate",
    failing: Sequence[str] = (),
    title: str = "",
) -> BarChart:
    """Bars per group of each metric with its 95% interval; for the selection rate, the
    reference group's rate and the four-fifths line (``min_ratio`` × that rate)."""
    series = []
    for k, (key, name) in enumerate(metrics.items()):
        values, lower, upper = _estimates([g["metrics"].get(key) or {} for g in groups])
        series.append(BarSeries(name, values, lower, upper, PALETTE[k % len(PALETTE)]))
    lines: list[RefLine] = []
    ref = next((g for g in groups if g["group"] == reference), None)
    rate = ((ref or {}).get("metrics", {}).get("selection_rate") or {}).get("value")
    if ref is not None and rate is not None and "selection_rate" in metrics:
        lines.append(RefLine(rate, f"reference {reference}: {rate:.2f}"))
        if min_ratio is not None:
            lines.append(
                RefLine(
                    min_ratio * rate,
                    f"four-fifths line: {min_ratio:g} × reference = {min_ratio * rate:.2f}",
                    style="dot",
                    colour="firebrick",
                )
            )
    failed = set(map(str, failing))
    return BarChart(
        title=title,
        categories=tuple(str(g["group"]) for g in groups),
        series=tuple(series),
        value_title=value_title,
        faint=tuple(not g["eligible"] for g in groups),
        failing=tuple(str(g["group"]) in failed for g in groups),
        lines=tuple(lines),
    )


def roc_chart(curve: Mapping[str, Sequence[float]], auc: float | None) -> LineChart:
    """The stored ROC curve with the diagonal of a model that guesses."""
    name = "ROC" if auc is None else f"ROC (AUC {auc:.3f})"
    return LineChart(
        title="ROC curve",
        x_title="false-positive rate",
        y_title="true-positive rate",
        series=(
            LineSeries("guessing", (0.0, 1.0), (0.0, 1.0), colour="grey", style="dot"),
            LineSeries(name, tuple(curve["fpr"]), tuple(curve["tpr"])),
        ),
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.02),
    )


def calibration_chart(bins: Sequence[Mapping[str, Any]]) -> LineChart:
    """Reliability diagram: mean predicted score against the observed rate, per score decile."""
    predicted = [b["mean_predicted"].get("value") for b in bins]
    _, lower, upper = _estimates([b["observed_rate"] for b in bins])
    return LineChart(
        title="Calibration",
        x_title="mean predicted probability",
        y_title="observed positive rate",
        series=(
            LineSeries("perfectly calibrated", (0.0, 1.0), (0.0, 1.0), "grey", "dash"),
            LineSeries(
                "observed rate (95% interval)",
                tuple(p if p is not None else 0.0 for p in predicted),
                tuple(b["observed_rate"].get("value") for b in bins),
                markers=True,
                lower=lower,
                upper=upper,
            ),
        ),
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.05),
    )


def segment_chart(
    overall: Mapping[str, Any], segments: Sequence[Mapping[str, Any]], metric: str, label: str
) -> BarChart:
    """One metric overall and per segment, with intervals."""
    rows = [{"group": "overall", "metrics": overall.get("metrics", {})}, *segments]
    values, lower, upper = _estimates([r["metrics"].get(metric) or {} for r in rows])
    names = ["overall"] + [f"{s.get('column')} = {s.get('group')}" for s in segments]
    return BarChart(
        title=f"{label} by segment",
        categories=tuple(names),
        series=(BarSeries(label, values, lower, upper),),
        value_title=label,
    )

"""The charts of one report: chart data from core.charts, drawn by the matplotlib renderers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.charts import (
    beeswarm_chart,
    calibration_chart,
    dependence_chart,
    group_rates_chart,
    importance_chart,
    partial_dependence_chart,
    roc_chart,
    segment_chart,
)
from core.reports.charts import render_bars, render_lines, render_points
from core.reports.gather import ReportData

__all__ = ["TOP_CHART_FEATURES", "report_figures"]

#: Dependence and partial-dependence charts are drawn for this many top features.
TOP_CHART_FEATURES = 3


def _performance(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    overall = results.get("overall", {})
    if results.get("roc_curve"):
        auc = (overall.get("metrics", {}).get("roc_auc") or {}).get("value")
        out["roc"] = render_lines(roc_chart(results["roc_curve"], auc))
    if overall.get("calibration"):
        out["calibration"] = render_lines(calibration_chart(overall["calibration"]))
    if results.get("segments"):
        metric = (
            "roc_auc"
            if "roc_auc" in overall.get("metrics", {})
            else next(iter(overall.get("metrics", {})), None)
        )
        if metric:
            out["segments"] = render_bars(
                segment_chart(overall, results["segments"], metric, metric.replace("_", " "))
            )
    return out


def _fairness(
    results: dict[str, Any], min_ratio: float | None, feature_name: Callable[[str], str]
) -> dict[str, str]:
    out = {}
    for feature in results.get("features", []):
        groups = feature.get("groups", [])
        if not groups or "selection_rate" not in groups[0].get("metrics", {}):
            continue
        # The groups a failed four-fifths check fails on: ratio to the reference below its minimum.
        failing = [
            str(g["group"])
            for c in feature.get("checks", [])
            if c.get("name") == "selection_rate_ratio" and c.get("status") == "fail"
            for g in groups
            if g.get("eligible")
            and ((g["metrics"].get("selection_rate_ratio") or {}).get("value") or 1.0)
            < c["threshold"]
        ]
        chart = group_rates_chart(
            groups,
            {"selection_rate": "selection rate"},
            reference=feature.get("reference_group"),
            min_ratio=min_ratio,
            value_title="selection rate",
            failing=failing,
            title=f"Selection rate by {feature_name(feature['name'])}",
        )
        out[feature["name"]] = render_bars(chart)
    return out


def _explanation(data: ReportData, results: dict[str, Any]) -> dict[str, Any]:
    vocab = data.vocabulary
    axis = f"contribution to the {vocab.output_words(results['output_space'])}"
    top = [i["feature"] for i in results.get("global_importance", [])][:TOP_CHART_FEATURES]
    out: dict[str, Any] = {
        "importance": render_bars(importance_chart(results, axis=axis, feature_name=vocab.feature)),
        "beeswarm": render_points(beeswarm_chart(results, axis=axis, feature_name=vocab.feature)),
        "dependence": [],
        "partial_dependence": [],
    }
    for item in results.get("dependence", []):
        if item["feature"] in top:
            chart = dependence_chart(item, axis=axis, feature_name=vocab.feature)
            if chart is not None:
                out["dependence"].append(render_points(chart))
    for curve in results.get("partial_dependence", []):
        if curve["feature"] in top:
            words = vocab.output_words(curve["output_space"])
            out["partial_dependence"].append(
                render_lines(
                    partial_dependence_chart(curve, output_words=words, feature_name=vocab.feature)
                )
            )
    return out


def report_figures(data: ReportData) -> dict[str, Any]:
    """Every chart the report shows, as data URIs keyed by section."""
    figures: dict[str, Any] = {"performance": {}, "fairness": {}, "explanation": {}}
    if data.performance is not None:
        figures["performance"] = _performance(data.performance.results)
    if data.fairness is not None:
        policy = data.fairness.results.get("policy", {})
        figures["fairness"] = _fairness(
            data.fairness.results, policy.get("min_selection_rate_ratio"), data.vocabulary.feature
        )
    if data.explanation is not None and data.explanation.results.get("global_importance"):
        figures["explanation"] = _explanation(data, data.explanation.results)
    return figures

"""One sensitive feature's stored fairness evidence: groups, charts, gaps and exclusions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from app.charts.evidence import group_rates_figure, show_figure
from app.ui.evidence import business_words, show_notes
from app.ui.tables import estimates_frame, wide_frame
from app.ui.text import GROUP_COLUMNS, escape_markdown
from core.metrics.fairness import CLASSIFICATION_BETWEEN, REGRESSION_BETWEEN, UNDEFINED_BECAUSE

__all__ = [
    "failing_groups",
    "show_fairness_feature",
]


def failing_groups(feature: Mapping[str, Any], results: Mapping[str, Any]) -> list[str]:
    """Groups below the four-fifths line when the feature's selection-rate check fails."""
    fails = any(
        c["status"] == "fail" and c.get("name") == "selection_rate_ratio" for c in feature["checks"]
    )
    if not fails:
        return []
    minimum = results["policy"]["min_selection_rate_ratio"]
    out = []
    for g in feature["groups"]:
        ratio = (g["metrics"].get("selection_rate_ratio") or {}).get("value")
        if g["eligible"] and ratio is not None and ratio < minimum:
            out.append(str(g["group"]))
    return out


def show_fairness_feature(
    feature: Mapping[str, Any],
    *,
    results: Mapping[str, Any],
    key: str,
    names: Callable[[str], str] = str,
) -> None:
    """One sensitive column or intersection: groups, charts, between-group gaps, exclusions.

    The groups a failing selection-rate check fails on are highlighted in the table and chart.
    """
    regression = results["task"] == "regression"
    failing = failing_groups(feature, results)
    if feature["reference_group"] is not None:
        st.caption(
            f"Reference group: **{escape_markdown(feature['reference_group'])}** "
            f"({feature['reference_rule']})."
        )
    leading = {
        "Group": lambda g: g["group"],
        "Rows": lambda g: g["count"],
        "Share": lambda g: f"{g['share']:.1%}",
        "In pass/fail": lambda g: "yes" if g["eligible"] else "no: too small",
    }
    frame = wide_frame(
        feature["groups"], GROUP_COLUMNS, leading=leading, undefined_because=UNDEFINED_BECAUSE
    )
    highlight = ["background-color: #fde0dd" if str(g) in failing else "" for g in frame["Group"]]
    st.dataframe(
        frame.style.apply(lambda column: highlight, axis=0),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Each figure: estimate (95% interval)."
        + (
            f" Highlighted: {escape_markdown(', '.join(failing))}, where the check fails."
            if failing
            else ""
        )
    )
    key = f"{key}_{feature['name']}"
    if regression:
        figure = group_rates_figure(
            feature["groups"], {"mean_prediction": "mean prediction"}, y_title="mean prediction"
        )
        show_figure(figure, key=f"{key}_means")
    else:
        left, right = st.columns(2)
        with left:
            st.markdown("**Selection rate** with the reference group and the four-fifths line")
            figure = group_rates_figure(
                feature["groups"],
                {"selection_rate": "selection rate"},
                reference=feature["reference_group"],
                min_ratio=results["policy"]["min_selection_rate_ratio"],
                y_title="selection rate",
                failing=failing,
            )
            show_figure(figure, key=f"{key}_selection")
        with right:
            st.markdown("**True- and false-positive rates** (equalized odds)")
            figure = group_rates_figure(
                feature["groups"],
                {
                    "true_positive_rate": "true-positive rate",
                    "false_positive_rate": "false-positive rate",
                },
            )
            show_figure(figure, key=f"{key}_odds")
    st.markdown("**Between groups** (eligible groups only)")
    between = REGRESSION_BETWEEN if regression else CLASSIFICATION_BETWEEN
    st.dataframe(
        estimates_frame(feature["between_groups"], between, first="Measure"),
        hide_index=True,
        width="stretch",
    )
    column, display = str(feature["name"]), names(str(feature["name"]))
    show_notes(
        [
            business_words(d, column, display)
            for c in feature["checks"]
            for d in c.get("details", [])
        ]
    )
    for excluded in feature["excluded_groups"]:
        st.warning(
            f"{escape_markdown(excluded['group'])}: {excluded['reason']}.",
            icon=":material/group_off:",
        )
    show_notes(feature["notes"])

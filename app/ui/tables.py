"""Tables of stored results: estimates with intervals, groups, segments, confusion, comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from app.ui.text import (
    INTERVAL_COLUMN,
    UNDEFINED,
    escape_markdown,
    format_change,
    format_estimate,
    sentence_case,
)
from core.services.evidence import (
    StoredEvidence,
)

__all__ = [
    "comparison_frame",
    "confusion_frame",
    "estimates_frame",
    "show_comparison",
    "show_segments",
    "wide_frame",
]

# --- Tables of results -------------------------------------------------------------------------


def estimates_frame(
    metrics: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, str],
    *,
    first: str = "Metric",
    undefined_because: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per metric present, in the order of ``labels``: name, then value with interval."""
    return pd.DataFrame(
        [
            {
                first: sentence_case(label),
                INTERVAL_COLUMN: format_estimate(
                    metrics[key], undefined=_undefined(key, undefined_because)
                ),
            }
            for key, label in labels.items()
            if key in metrics
        ]
    )


def _undefined(key: str, because: Mapping[str, str] | None) -> str:
    reason = (because or {}).get(key)
    return f"{UNDEFINED} ({reason})" if reason else UNDEFINED


def wide_frame(
    rows: Sequence[Mapping[str, Any]],
    columns: Mapping[str, str],
    *,
    leading: Mapping[str, Any] | None = None,
    undefined_because: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per group or segment: its leading fields, then each metric with its interval.

    ``rows`` hold a ``metrics`` mapping; ``leading`` maps a column title to a function of the row.
    """
    out = []
    for row in rows:
        line = {title: get(row) for title, get in (leading or {}).items()}
        for key, title in columns.items():
            if key in row["metrics"]:
                line[title] = format_estimate(
                    row["metrics"][key], undefined=_undefined(key, undefined_because)
                )
        out.append(line)
    return pd.DataFrame(out)


def confusion_frame(
    matrix: Sequence[Sequence[int]], *, positive: str, negative: str
) -> pd.DataFrame:
    """scikit-learn's ``((tn, fp), (fn, tp))`` with the outcomes named on both axes."""
    (tn, fp), (fn, tp) = matrix
    return pd.DataFrame(
        {
            "Actual": [negative, positive],
            f"Predicted: {negative}": [tn, fn],
            f"Predicted: {positive}": [fp, tp],
        }
    )


def comparison_frame(
    current: Mapping[str, Mapping[str, Any]],
    others: Sequence[tuple[str, Mapping[str, Mapping[str, Any]] | None]],
    labels: Mapping[str, str],
    *,
    this: str,
) -> pd.DataFrame:
    """This version's metrics beside other versions', with the change from each."""
    rows = []
    for key, label in labels.items():
        if key not in current:
            continue
        row = {"Metric": sentence_case(label), this: format_estimate(current[key])}
        for name, metrics in others:
            if metrics is None:
                row[name] = "no evidence"
                row[f"Change from {name}"] = UNDEFINED
            else:
                row[name] = format_estimate(metrics.get(key))
                row[f"Change from {name}"] = format_change(current[key], metrics.get(key))
        rows.append(row)
    return pd.DataFrame(rows)


def show_segments(segments: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> None:
    """One table per segment column: rows and every metric with its interval, per group."""
    by_column: dict[str, list[Mapping[str, Any]]] = {}
    for segment in segments:
        by_column.setdefault(segment["column"], []).append(segment)
    if not by_column:
        st.caption("No segments were chosen when this evidence was computed.")
    titles = {key: sentence_case(label) for key, label in labels.items()}
    for column, rows in by_column.items():
        st.markdown(f"**By {escape_markdown(column)}**")
        st.dataframe(
            wide_frame(
                rows,
                titles,
                leading={"Group": lambda r: r["group"], "Rows": lambda r: r["count"]},
            ),
            hide_index=True,
            width="stretch",
        )


def show_comparison(
    evidence: StoredEvidence,
    others: Sequence[tuple[str, StoredEvidence | None]],
    labels: Mapping[str, str],
    *,
    this: str,
) -> None:
    """This evidence's metrics beside other versions' newest, warning where their data differ."""
    metrics = evidence.results["overall"]["metrics"]
    st.dataframe(
        comparison_frame(
            metrics,
            [(name, e.results["overall"]["metrics"] if e else None) for name, e in others],
            labels,
            this=this,
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Each version's newest performance evidence, on its own evaluation data; "
        "change = this version minus the other."
    )
    data = evidence.inputs.get("eval_sha256")
    for name, other in others:
        if other is not None and other.inputs.get("eval_sha256") != data:
            st.warning(
                f"{name} was evaluated on different data, so its change mixes the model's "
                "change with the data's.",
                icon=":material/compare_arrows:",
            )

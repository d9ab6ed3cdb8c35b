"""Monitoring: a version's production batches over time, their drift against the evaluation data
with each threshold, the metrics and KPIs once outcomes arrive, and what was raised."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.charts import monitoring as charts
from app.charts.common import show_figure
from app.ui import DASH, attempt, escape_markdown, pickers, plain_text
from app.ui import evidence as shown
from core.services.monitoring_reads import MonitoringView, monitoring_view

user = user_session.signed_in_user()
st.title("Monitoring")
picked = pickers.pick_version("mon")
vid = picked.version_id

view: MonitoringView | None = attempt(
    lambda s: monitoring_view(session=s, actor=user_session.actor(s), version_id=vid)
)
if view is None:
    st.stop()
if not view.batches:
    st.info(
        f"No production batches of {picked.label} yet. A pipeline ingests each batch with "
        f"`gatehouse monitor ingest {vid} FILE`, and its outcomes later with "
        f"`gatehouse monitor labels {vid} FILE`."
    )
    st.stop()


def _number(value: object, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"  # type: ignore[str-format]


def _share(value: object) -> str:
    return DASH if value is None else f"{100 * value:.1f}%"  # type: ignore[operator]


def _table(rows: list[dict[str, object]]) -> None:
    st.dataframe(pd.DataFrame(rows).map(plain_text), hide_index=True, width="stretch")


newest = view.batches[-1]
failing = [c for c in view.checks if c["status"] == "fail"]
open_findings = [f for f in view.findings if f["status"] in ("open", "in_remediation")]
left, middle, right = st.columns(3)
left.metric("Batches", len(view.batches))
middle.metric("Thresholds crossed", len(failing))
right.metric("Open monitoring findings", len(open_findings))

st.subheader("Batches over time")
_table(
    [
        {
            "Batch": b["batch_id"],
            "Scored": b["scored_at"],
            "Rows": f"{b['rows']:,}",
            "Quarantined": b["quarantined_rows"],
            "Scored by": "this version" if b["scored_by_version"] else "production",
            "Drift": b["drift_status"],
            "Score PSI": _number(b["score_psi"]),
            "Largest feature PSI": _number(b["max_feature_psi"]),
            "Labelled rows": b["labelled_rows"],
            "Outcomes": b["monitoring_status"],
            "ROC AUC": _number(b["roc_auc"]),
        }
        for b in view.batches
    ]
)
show_figure(
    charts.psi_figure(view.batches, (view.policy.get("max_psi") or {}).get("value")),
    key=f"mon_{vid}_psi",
)

st.subheader(f"Drift of batch {newest['batch_id']} against the evaluation data")
batch_checks = [c for c in view.checks if c["batch_id"] == newest["batch_id"]]
shown.show_status(
    newest["drift_status"],
    what=f"Drift of batch {newest['batch_id']}",
    checks=[c for c in batch_checks if c["name"] != "kpi_hurdle"],
)
crossed_by_feature: dict[str, list[str]] = {}
for check in batch_checks:
    if check["status"] == "fail":
        crossed_by_feature.setdefault(str(check["feature"]), []).append(check["label"])
drift_rows = [*view.drift, *([view.score] if view.score else [])]
_table(
    [
        {
            "Feature": f["feature"],
            "Kind": f["kind"],
            "PSI": _number(f.get("psi")),
            "Reading": f.get("psi_reading"),
            "KS": _number(f.get("ks_statistic")),
            "KS p-value": _number(f.get("ks_pvalue"), 4),
            "Wasserstein": _number(f.get("wasserstein")),
            "Chi-square p-value": _number(f.get("chi2_pvalue"), 4),
            "Missing (evaluation → batch)": f"{_share(f.get('reference_missing_rate'))} → {_share(f.get('missing_rate'))}",
            "Unseen categories": ", ".join(f.get("unseen_categories") or []) or DASH,
            "Outside operating range": _share(f.get("out_of_range_share")),
            "Thresholds crossed": ", ".join(crossed_by_feature.get(str(f["feature"]), [])) or DASH,
        }
        for f in drift_rows
    ]
)
_table(
    [
        {"Threshold": name, "Value": entry.get("value"), "Basis": entry.get("basis")}
        for name, entry in view.policy.items()
    ]
)
if view.groups:
    with st.expander("Score drift per sensitive group and segment"):
        _table(
            [
                {
                    "Column": g["column"],
                    "Group": g["group"],
                    "Rows": g["rows"],
                    "Evaluation rows": g["reference_rows"],
                    "PSI": _number((g.get("score") or {}).get("psi")),
                    "KS": _number((g.get("score") or {}).get("ks_statistic")),
                }
                for g in view.groups
            ]
        )

st.subheader("Thresholds crossed")
if failing:
    _table(
        [
            {
                "Batch": c["batch_id"],
                "Scored": c["scored_at"],
                "Check": c["label"],
                "In short": c["sentence"],
            }
            for c in failing
        ]
    )
else:
    st.success("No batch crossed a monitoring threshold.", icon=":material/check_circle:")

if view.metrics:
    st.subheader("Performance on labelled production data")
    left, right = st.columns(2)
    metric = "r2" if any(m["metric"] == "r2" for m in view.metrics) else "roc_auc"
    with left:
        show_figure(
            charts.metric_figure(view.metrics, metric, metric.upper().replace("_", " ")),
            key=f"mon_{vid}_metric",
        )
    with right:
        columns = sorted({g["column"] for g in view.group_metrics})
        if columns:
            column = st.selectbox("Sensitive column", columns, key=f"mon_{vid}_group_column")
            show_figure(
                charts.group_rate_figure(
                    view.group_metrics, column, "selection_rate", "Selection rate"
                ),
                key=f"mon_{vid}_groups",
            )

if view.kpis:
    st.subheader("Business KPIs against the baseline and the hurdle")
    kpis = sorted({k["kpi"] for k in view.kpis})
    for column, kpi in zip(st.columns(len(kpis)), kpis, strict=True):
        with column:
            show_figure(charts.kpi_figure(view.kpis, kpi), key=f"mon_{vid}_kpi_{kpi}")

st.subheader("Findings raised by monitoring")
if view.findings:
    _table(
        [
            {
                "Finding": f["finding_id"],
                "Type": f["type"],
                "Severity": f["severity"],
                "Status": f["status"],
                "Raised": f["raised_at"],
                "Description": f["description"],
            }
            for f in view.findings
        ]
    )
else:
    st.caption(f"Monitoring raised no finding on {escape_markdown(picked.label)}.")

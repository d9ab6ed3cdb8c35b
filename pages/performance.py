"""Performance: a version's stored performance evidence, per segment, against its predecessors."""

import streamlit as st

from app import session as user_session
from app.charts import evidence as charts
from app.ui import attempt, pickers, tables, text
from app.ui import evidence as shown
from core.metrics.performance import CLASSIFICATION_METRICS, REGRESSION_METRICS
from core.services.evidence import latest_evidence

user = user_session.signed_in_user()
st.title("Performance")
picked = pickers.pick_version("perf")
vid = picked.version_id
allowed = shown.can_compute(user)
computed = None

if allowed:
    latest = attempt(
        lambda s: (
            latest_evidence(session=s, version_id=vid, kind="performance"),
            latest_evidence(session=s, version_id=vid, kind="fairness"),
        )
    )
    performance, fairness = latest or (None, None)
    config = performance.config if performance else {}
    with st.expander(
        "Compute performance evidence", expanded=performance is None, icon=":material/calculate:"
    ):
        columns = picked.group_columns
        segments = st.multiselect(
            "Segments",
            columns,
            default=[c for c in config.get("segments", []) if c in columns],
            key=f"perf_segments_{vid}",
            help="Columns to break the metrics down by, e.g. region.",
        )
        threshold, n_boot, seed = shown.run_settings(
            f"perf_{vid}", config, task=picked.version["task"]
        )
        fair_config = fairness.config if fairness else {}
        st.caption(
            "Fairness evidence is computed and stored with it, keeping its sensitive columns "
            f"({', '.join(fair_config.get('sensitive', picked.version['sensitive'])) or 'none'}) "
            "and reference groups."
        )
        if st.button("Compute performance evidence", type="primary", key=f"perf_compute_{vid}"):
            evaluation = shown.compute_evidence(
                version_id=vid,
                sensitive=fair_config.get("sensitive"),
                segments=segments,
                references=fair_config.get("reference_groups", {}),
                threshold=threshold,
                n_boot=n_boot,
                seed=seed,
            )
            if evaluation is not None:
                computed = evaluation.performance.id

evidence = pickers.choose_evidence(
    key=f"perf_evidence_{vid}", version_id=vid, kind="performance", select=computed
)
if evidence is None:
    shown.no_evidence("performance", picked, allowed=allowed)
    st.stop()

results = evidence.results
metrics = results["overall"]["metrics"]
labels = REGRESSION_METRICS if results["task"] == "regression" else CLASSIFICATION_METRICS
shown.show_status(evidence.status, what=f"Performance of {picked.label}", checks=results["checks"])
threshold_note = (
    f", decisions at threshold {results['threshold']:g}" if results["threshold"] is not None else ""
)
st.caption(f"{results['n_rows']:,} evaluation rows{threshold_note}.")

st.subheader("Policy checks")
# The stored check has the point value; its interval is the metric's.
by_label = {label: key for key, label in labels.items()}
shown.show_checks(
    [
        {**c, "value": metrics.get(by_label.get(c["label"], ""), c["value"])}
        for c in results["checks"]
    ]
)

st.subheader("Metrics")
left, right = st.columns(2)
left.dataframe(tables.estimates_frame(metrics, labels), hide_index=True, width="stretch")
if (matrix := results["overall"]["confusion_matrix"]) is not None:
    at = f" at threshold {results['threshold']:g}" if results["threshold"] is not None else ""
    with right:
        st.markdown(f"**Confusion matrix**{at}")
        st.dataframe(
            tables.confusion_frame(
                matrix,
                positive=picked.vocabulary.positive_words,
                negative=picked.vocabulary.negative_words,
            ),
            hide_index=True,
            width="stretch",
        )

if bins := results["overall"]["calibration"]:
    st.subheader("Discrimination and calibration")
    roc = results.get("roc_curve") or {}
    left, middle, right = st.columns(3)
    with left:
        st.markdown("**ROC curve**")
        if roc.get("fpr"):
            auc = (metrics.get("roc_auc") or {}).get("value")
            charts.show_figure(charts.roc_figure(roc, auc), key=f"perf_{evidence.id}_roc")
        else:
            st.caption("No ROC curve in this evidence (a single outcome, or computed without it).")
    with middle:
        st.markdown("**Reliability** by decile of the predicted score")
        charts.show_figure(charts.calibration_figure(bins), key=f"perf_{evidence.id}_calibration")
    with right:
        st.markdown("**Score distribution** over the same deciles")
        charts.show_figure(charts.score_distribution_figure(bins), key=f"perf_{evidence.id}_scores")

st.subheader("Segments")
tables.show_segments(results["segments"], labels)

st.subheader("Against the previous and the production version")
parent, production = picked.version["parent_version_id"], picked.production_version_id
others: dict[int, str] = {}
if parent is not None:
    others[parent] = f"Previous (v{picked.number(parent)})"
if production is not None and production != vid:
    others[production] = (
        f"Previous = production (v{picked.number(production)})"
        if production == parent
        else f"Production (v{picked.number(production)})"
    )
if production == vid:
    st.caption(f"{text.escape_markdown(picked.label)} is the production version.")
elif production is None:
    st.caption("No version of this model is in production.")
if parent is None:
    st.caption(f"{text.escape_markdown(picked.label)} has no previous version.")
if others:
    stored = (
        attempt(
            lambda s: {
                i: latest_evidence(session=s, version_id=i, kind="performance") for i in others
            }
        )
        or {}
    )
    tables.show_comparison(
        evidence,
        [(name, stored.get(i)) for i, name in others.items()],
        labels,
        this=f"This version (v{picked.version['version']})",
    )

st.subheader("Notes")
shown.show_notes(results["notes"])
shown.show_provenance(evidence)

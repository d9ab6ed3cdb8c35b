"""Fairness: a version's stored fairness evidence per sensitive feature; EVIDENCE_ROLES recompute it."""

import streamlit as st

from app import session as user_session
from app.ui import attempt, pickers, text
from app.ui import evidence as shown
from app.ui import fairness as fairness_view
from core.services.evidence import latest_evidence

MOST_FAVOURED = "most-favoured group (default)"

user = user_session.signed_in_user()
st.title("Fairness")
picked = pickers.pick_version("fair")
vid = picked.version_id
allowed = shown.can_compute(user)
computed = None

if allowed:
    latest = attempt(
        lambda s: (
            latest_evidence(session=s, version_id=vid, kind="fairness"),
            latest_evidence(session=s, version_id=vid, kind="performance"),
        )
    )
    fairness, performance = latest or (None, None)
    config = fairness.config if fairness else {}
    known = {
        f["name"]: [g["group"] for g in f["groups"]]
        for f in (fairness.results if fairness else {}).get("features", [])
    }
    with st.expander(
        "Compute fairness evidence", expanded=fairness is None, icon=":material/calculate:"
    ):
        columns = picked.group_columns
        default = [c for c in config.get("sensitive", picked.version["sensitive"]) if c in columns]
        sensitive = st.multiselect(
            "Sensitive columns",
            columns,
            default=default,
            key=f"fair_sensitive_{vid}",
            help="Each column is analysed, and their intersections when there are several.",
        )
        chosen = config.get("reference_groups", {})
        references = {}
        for column in sensitive:
            label = f"Reference group for {column}"
            if groups := known.get(column):
                options = [MOST_FAVOURED, *groups]
                pick = st.selectbox(
                    label,
                    options,
                    index=options.index(chosen[column]) if chosen.get(column) in groups else 0,
                    key=f"fair_ref_{vid}_{column}",
                    help="The four-fifths rule compares each group's selection rate with it.",
                )
                group = "" if pick == MOST_FAVOURED else pick
            else:
                group = st.text_input(
                    label,
                    chosen.get(column, ""),
                    key=f"fair_ref_{vid}_{column}",
                    placeholder="empty: the most-favoured group (highest selection rate)",
                ).strip()
            if group:
                references[column] = group
        threshold, n_boot, seed = shown.run_settings(
            f"fair_{vid}", config, task=picked.version["task"]
        )
        st.caption(
            "Performance evidence is computed and stored with it, keeping its segments "
            f"({', '.join((performance.config if performance else {}).get('segments', [])) or 'none'})."
        )
        if st.button("Compute fairness evidence", type="primary", key=f"fair_compute_{vid}"):
            if not sensitive:
                st.error("Choose at least one sensitive column.", icon=":material/error:")
            else:
                evaluation = shown.compute_evidence(
                    version_id=vid,
                    sensitive=sensitive,
                    segments=(performance.config if performance else {}).get("segments", []),
                    references=references,
                    threshold=threshold,
                    n_boot=n_boot,
                    seed=seed,
                )
                if evaluation is not None and evaluation.fairness is not None:
                    computed = evaluation.fairness.id

evidence = pickers.choose_evidence(
    key=f"fair_evidence_{vid}", version_id=vid, kind="fairness", select=computed
)
if evidence is None:
    shown.no_evidence("fairness", picked, allowed=allowed)
    st.stop()

results = evidence.results
features = results["features"]
checks = [c for f in features for c in f["checks"]]
shown.show_status(evidence.status, what=f"Fairness of {picked.label}", checks=checks)
decisions = (
    "predictions compared across groups"
    if results["task"] == "regression"
    else f"decisions at threshold {evidence.config.get('threshold', 0.5):g}"
)
st.caption(
    f"{results['n_rows']:,} evaluation rows, {decisions}; groups under "
    f"{results['policy']['min_group_size']} rows are shown but left out of pass/fail."
)

st.subheader("Checks, failing first")
vocab = picked.vocabulary

_feature_words = vocab.feature  # intersections ("sex × age_band") part by part


shown.show_checks(checks, with_feature=True, names=_feature_words)

st.subheader("By sensitive feature")
# The feature that fails opens first (Streamlit opens the first tab).
features = sorted(
    features,
    key=lambda f: min((shown.STATUS_ORDER.get(c["status"], 9) for c in f["checks"]), default=9),
)
for tab, feature in zip(
    st.tabs([text.escape_label(_feature_words(f["name"])) for f in features]), features, strict=True
):
    with tab:
        fairness_view.show_fairness_feature(
            feature, results=results, key=f"fair_{evidence.id}", names=_feature_words
        )

st.subheader("Notes")
shown.show_notes(results["notes"])
shown.show_provenance(evidence)

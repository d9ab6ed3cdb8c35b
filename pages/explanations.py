"""Explanations: a version's stored SHAP evidence and partial dependence, and one decision."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.charts import evidence as charts
from app.charts import explanations as ex_charts
from app.ui import attempt, pickers, text
from app.ui import evidence as shown
from app.ui import explanations as ex
from core.services.background_worker import start_background_worker
from core.services.evidence import (
    DEFAULT_BACKGROUND,
    DEFAULT_ROWS,
    EXPLANATION,
    search_rows,
    submit_explanation,
)
from core.services.jobs import latest_job

user = user_session.signed_in_user()
st.title("Explanations")
picked = pickers.pick_version("expl")
vid = picked.version_id
vocab = picked.vocabulary
allowed = shown.can_compute(user)
job = attempt(lambda s: latest_job(session=s, version_id=vid, kind=EXPLANATION))

if allowed:
    with st.expander("Compute explanation evidence", icon=":material/calculate:"):
        c1, c2, c3 = st.columns(3)
        rows = c1.number_input(
            "Rows explained at most",
            min_value=2,
            max_value=100_000,
            value=DEFAULT_ROWS,
            step=500,
            key=f"expl_rows_{vid}",
            help="A sample of the evaluation data, stratified by the label.",
        )
        seed = c2.number_input("Seed", min_value=0, value=0, step=1, key=f"expl_seed_{vid}")
        background = c3.number_input(
            "Background rows",
            min_value=1,
            max_value=10_000,
            value=DEFAULT_BACKGROUND,
            key=f"expl_background_{vid}",
            help="For the linear and permutation explainers; TreeSHAP needs none.",
        )
        if st.button("Compute explanations", type="primary", key=f"expl_compute_{vid}"):
            submitted = attempt(
                lambda s: submit_explanation(
                    session=s,
                    actor=user_session.actor(s),
                    version_id=vid,
                    rows=int(rows),
                    seed=int(seed),
                    background=int(background),
                )
            )
            if submitted is not None:
                start_background_worker()
                st.session_state[ex.WATCHED_JOB.format(version_id=vid)] = submitted.id
                job = submitted
ex.job_panel(vid, job)

finished = st.session_state.pop(ex.SHOW_EVIDENCE.format(version_id=vid), None)
evidence = pickers.choose_evidence(
    key=f"expl_evidence_{vid}",
    version_id=vid,
    kind=EXPLANATION,
    select=finished.evidence_id if finished else None,
)
ex.announce_result(finished, evidence)
if evidence is None:
    shown.no_evidence("explanation", picked, allowed=allowed)
else:
    results = evidence.results
    stability = results["stability"]
    if evidence.status == "pass":
        st.success(
            f"Additivity holds (max error {results['additivity_max_error']:.1e}) and the top "
            "features keep their ranks across backgrounds and samples.",
            icon=":material/check_circle:",
        )
    else:
        st.warning(
            "Unstable top inputs: "
            f"{text.escape_markdown(', '.join(map(vocab.feature, stability['unstable_features'])))}; their ranks "
            "change with the background or the sample, so read their order with care.",
            icon=":material/warning:",
        )
    st.caption(
        f"Contributions to the {text.escape_markdown(vocab.output_words(results['output_space']))}"
        f" (SHAP values), from {results['provenance']['sample_size']:,} evaluation rows. They show "
        "association with the model's output, not causation."
    )
    overview, effects, stable = st.tabs(["Global importance", "Feature effects", "Stability"])
    with overview:
        left, right = st.columns(2)
        with left:
            charts.show_figure(
                ex_charts.importance_figure(results, vocab), key=f"expl_{evidence.id}_importance"
            )
        with right:
            charts.show_figure(
                ex_charts.beeswarm_figure(results, vocab), key=f"expl_{evidence.id}_beeswarm"
            )
    with effects:
        top = [d["feature"] for d in results["dependence"]]
        feature = st.selectbox("Input", top, key=f"expl_feature_{vid}", format_func=vocab.feature)
        left, right = st.columns(2)
        with left:
            dependence = next(d for d in results["dependence"] if d["feature"] == feature)
            charts.show_figure(
                ex_charts.dependence_figure(dependence, results, vocab),
                key=f"expl_{evidence.id}_dependence",
            )
        with right:
            curve = next(
                (c for c in results["partial_dependence"] if c["feature"] == feature), None
            )
            if curve is None:
                st.info(
                    f"No curve of the average output for {text.escape_markdown(vocab.feature(feature))}."
                )
            else:
                charts.show_figure(
                    ex_charts.partial_dependence_figure(curve, vocab, results["output_space"]),
                    key=f"expl_{evidence.id}_pdp",
                )
        st.caption(
            "Shaded: the feature's range in the training data (the model's operating "
            "boundaries); dotted: its 5th and 95th percentiles."
        )
    with stable:
        st.markdown(text.escape_markdown(ex.stability_sentence(stability, vocab)))
        st.dataframe(ex.stability_frame(stability, vocab), hide_index=True, width="stretch")
        st.caption(text.escape_markdown(stability["description"]))
    if results["notes"]:
        st.subheader("Notes")
        shown.show_notes(results["notes"])
    with st.expander(
        "Provenance: explainer, background, seed, sample, libraries", icon=":material/fingerprint:"
    ):
        st.dataframe(ex.provenance_rows(evidence), hide_index=True, width="stretch")


@st.fragment
def one_decision() -> None:
    st.subheader("One decision")
    version = picked.version
    last = int(version["eval_dataset"]["rows"]) - 1
    left, right = st.columns(2)
    text_query = right.text_input(
        "Find rows",
        key=f"expl_search_{vid}",
        placeholder="words that must all appear, e.g. 18-25 female north",
        help="Narrows the row picker to the rows that contain every word.",
    )
    found = []
    if text_query.strip():
        found = (
            attempt(
                lambda s: search_rows(
                    session=s, actor=user_session.actor(s), version_id=vid, text=text_query
                )
            )
            or []
        )
        if not found:
            right.caption("No row of the evaluation data contains all of those words.")
    if found:
        # One picker: the search narrows its choices instead of adding a second one.
        rows = {f"row {r['row']}": int(r["row"]) for r in found}
        row = rows[left.selectbox("Row explained", list(rows), key=f"expl_found_{vid}")]
        with st.expander(f"The {len(found)} rows found", icon=":material/table_rows:"):
            st.dataframe(pd.DataFrame(found).map(text.plain_text), hide_index=True, width="stretch")
    else:
        row = left.number_input(
            f"Row explained (0 to {last})",
            min_value=0,
            max_value=last,
            value=0,
            key=f"expl_row_{vid}",
        )
    base = ex.decision(version, int(row), None)
    if base is None:
        return
    before = None
    if st.toggle("What if? Change the values (hypothetical)", key=f"expl_what_if_{vid}"):
        record = ex.what_if_form(f"expl_form_{vid}_{row}", base, vocab)
        if record != base["row"]:
            before, base = base, ex.decision(version, None, record)
            if base is None:
                return
    ex.show_decision(base, key=f"expl_{vid}_waterfall", vocab=vocab, before=before)


one_decision()

"""Explanation evidence on a page: stability, provenance, the job's progress and one decision."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from app import session as user_session
from app.charts.evidence import show_figure
from app.charts.explanations import waterfall_figure
from app.ui.actions import attempt, show_problems
from app.ui.text import escape_label, escape_markdown, format_value, sentence_case, space_name
from core.db import session_scope
from core.errors import GatehouseError
from core.services.background_worker import start_background_worker
from core.services.evidence import (
    EXPLANATION,
    StoredEvidence,
    explain_decision,
    require_applicant_access,
)
from core.services.jobs import latest_job
from core.services.vocabulary import Vocabulary
from core.tables import Job, User

__all__ = [
    "SHOW_EVIDENCE",
    "WATCHED_JOB",
    "decision",
    "job_panel",
    "provenance_rows",
    "show_decision",
    "stability_frame",
    "stability_sentence",
    "what_if_form",
]

# --- Stability, provenance -------------------------------------------------------------------


def stability_frame(stability: Mapping[str, Any], vocab: Vocabulary) -> pd.DataFrame:
    """Rank of each top feature in the main run and in each re-run; unstable ones marked."""
    unstable = set(stability["unstable_features"])
    seeds = stability["seeds"]
    rows = []
    for feature in stability["top_features"]:
        ranks = stability["ranks"][feature]
        row: dict[str, Any] = {"Input": vocab.feature(feature), "Rank": ranks[0]}
        for seed, rank in zip(seeds, ranks[1:], strict=False):
            row[f"Rank, run with seed {seed}"] = rank
        row["Largest move"] = max((abs(r - ranks[0]) for r in ranks[1:]), default=0)
        row["Stable"] = "unstable" if feature in unstable else "stable"
        rows.append(row)
    return pd.DataFrame(rows)


def stability_sentence(stability: Mapping[str, Any], vocab: Vocabulary) -> str:
    taus = ", ".join("n/a" if t is None else f"{t:.2f}" for t in stability["kendall_tau"])
    unstable = [vocab.feature(f) for f in stability["unstable_features"]]
    moved = (
        f"unstable (rank moves by more than {stability['rank_tolerance']}): {', '.join(unstable)}"
        if unstable
        else f"no top input moves by more than {stability['rank_tolerance']} ranks"
    )
    return f"Agreement of the top inputs' order with the main run (Kendall's tau): {taus}; {moved}."


def provenance_rows(evidence: StoredEvidence) -> pd.DataFrame:
    """What produced the numbers: explainer, background, seed, sample hash, libraries, checks."""
    results = evidence.results
    p = results["provenance"]
    rows: list[tuple[str, Any]] = [
        ("Evidence id", evidence.id),
        ("SHA-256", evidence.sha256),
        ("Computed by", evidence.computed_by or "operator (command line or demo)"),
        ("Computed at (UTC)", evidence.computed_at),
        ("Computing time (s)", f"{evidence.seconds:.2f}"),
        ("Explainer", f"{p['explainer']} ({p['explainer_class']})"),
        ("Feature perturbation", p["feature_perturbation"]),
        ("Model", p["model_class"]),
        ("Output space", space_name(results["output_space"])),
        (
            "Background",
            f"{p['background_size']} rows of {p['background_source']}"
            if p["background_size"]
            else "none (path-dependent TreeSHAP uses the trees' own cover)",
        ),
        ("Seed", p["seed"]),
        (
            "Rows explained",
            f"{p['sample_size']} of {p['rows_available']}"
            + (", stratified by the label" if p["stratified_by_label"] else ""),
        ),
        ("Sample SHA-256", p["sample_sha256"]),
        ("Sample hash method", p["sample_hash_method"]),
        (
            "Additivity",
            f"max |base + sum of SHAP - output| = {results['additivity_max_error']:.2e} "
            f"(tolerance {results['additivity_tolerance']:g})",
        ),
        ("Model evaluations per row", p["max_evals"] or "n/a (exact explainer)"),
    ]
    labels = {"model": "Model name", "version": "Version", "artifact_sha256": "Artifact SHA-256"}
    labels |= {"eval_sha256": "Evaluation data SHA-256", "train_sha256": "Training data SHA-256"}
    rows += [(label, evidence.inputs.get(k)) for k, label in labels.items()]
    rows += [(f"Setting: {k}", v) for k, v in sorted(evidence.config.items())]
    rows += [(f"{name} version", v) for name, v in sorted(evidence.environment.items())]
    return pd.DataFrame([{"Field": k, "Value": "—" if v is None else str(v)} for k, v in rows])


# --- Streamlit pieces: the job's progress, one decision ------------------------------------------

REPRODUCED = (
    "Explanation job #{job} gave a result identical to the stored evidence #{evidence} "
    "(computed {when} UTC): the same inputs, settings, seed and libraries gave the same numbers, "
    "so nothing new was stored. The reproduction is recorded in the audit trail."
)
STORED = "Explanation job #{job} stored new explanation evidence #{evidence}."


@dataclass(frozen=True)
class FinishedJob:
    """An explanation job this tab watched until it finished, and the evidence it gave."""

    job_id: int
    evidence_id: int | None
    requested_at: datetime


def announce_result(finished: FinishedJob | None, evidence: StoredEvidence | None) -> None:
    """Say what a finished job gave: new evidence, or a reproduction of evidence stored before."""
    if finished is None or evidence is None or evidence.id != finished.evidence_id:
        return
    computed = evidence.computed_at
    if computed is not None and computed < finished.requested_at:
        st.info(
            REPRODUCED.format(
                job=finished.job_id, evidence=evidence.id, when=f"{computed:%Y-%m-%d %H:%M:%S}"
            ),
            icon=":material/content_copy:",
        )
    else:
        st.success(
            STORED.format(job=finished.job_id, evidence=evidence.id), icon=":material/check_circle:"
        )


WATCHED_JOB = "explanations.watched_job.{version_id}"
SHOW_EVIDENCE = "explanations.show_evidence.{version_id}"


def job_panel(version_id: int, job: Job | None) -> None:
    """The newest explanation job of the version: a progress bar refreshed every second while
    it waits or runs, its error if it failed; when it finishes, the page reruns to show it."""
    watched = WATCHED_JOB.format(version_id=version_id)
    active = job is not None and job.state in ("queued", "running")

    @st.fragment(run_every=1.0 if active else None)
    def status() -> None:
        current = attempt(lambda s: latest_job(session=s, version_id=version_id, kind=EXPLANATION))
        if current is None:
            return
        if current.state in ("queued", "running"):
            # This process's worker takes it if no other one does (e.g. after a restart).
            start_background_worker()
            st.session_state[watched] = current.id
            what = "waiting for a worker" if current.state == "queued" else current.message
            st.progress(
                min(max(current.progress, 0.0), 1.0),
                text=f"Explanation job #{current.id} ({current.state}): {what}",
            )
            st.caption(
                "It runs in the background: keep using the page or leave it; the job carries "
                "on and stores its result as evidence."
            )
        elif current.state == "failed":
            st.session_state.pop(watched, None)
            when = current.finished_at
            st.error(
                f"Explanation job #{current.id} failed"
                + (f" at {when:%Y-%m-%d %H:%M} UTC" if when else "")
                + f": {current.error}",
                icon=":material/error:",
            )
        elif st.session_state.pop(watched, None) == current.id:
            st.session_state[SHOW_EVIDENCE.format(version_id=version_id)] = FinishedJob(
                job_id=int(current.id or 0),
                evidence_id=current.evidence_id,
                requested_at=current.requested_at,
            )
            st.rerun()

    status()


@st.cache_data(ttl=900, max_entries=256, show_spinner="Explaining the decision…")
def _decision(
    user_id: int,
    version_id: int,
    artifact_sha256: str,
    row_index: int | None,
    record_json: str | None,
) -> dict[str, Any]:
    # Versions and their data are immutable (hash-checked), so one row's answer can be kept;
    # the artifact hash keeps databases that reuse a version id apart. Only reached after
    # decision() has checked, on this call, that the user may read applicant-level data.
    del artifact_sha256
    with session_scope() as session:
        actor = session.get(User, user_id)
        assert actor is not None
        return explain_decision(
            session=session,
            actor=actor,
            version_id=version_id,
            row_index=row_index,
            record=None if record_json is None else json.loads(record_json),
        )


def decision(
    version: Mapping[str, Any], row_index: int | None, record: Any
) -> dict[str, Any] | None:
    """explain_decision for a row or a what-if record (cached behind a permission check made
    on every call); problems shown, None returned."""
    user_id = user_session.signed_in_user().id
    try:
        with session_scope() as session:
            actor = session.get(User, user_id)
            assert actor is not None
            require_applicant_access(session, actor)
        return _decision(
            user_id,
            int(version["version_id"]),
            str(version["artifact_sha256"]),
            row_index,
            None if record is None else json.dumps(record, sort_keys=True),
        )
    except GatehouseError as err:
        show_problems(err)
        return None


def what_if_form(key: str, base: Mapping[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    """Inputs for every feature, prefilled from ``base`` (a decision); returns the values.

    Values outside the training range are allowed: they are explained and flagged.
    """
    ranges = {r["feature"]: r for r in base["operating_ranges"]}
    values: dict[str, Any] = {}
    with st.form(key):
        columns = st.columns(3)
        for i, (feature, value) in enumerate(base["row"].items()):
            limits = ranges[feature]
            column = columns[i % 3]
            label = escape_label(vocab.feature(feature))
            if limits["kind"] == "numeric":
                span = (
                    f"Training range {format_value(limits['minimum'])} to "
                    f"{format_value(limits['maximum'])}."
                    if limits.get("minimum") is not None
                    else None
                )
                values[feature] = column.number_input(
                    label, value=value, format="%g", key=f"{key}_{feature}", help=span
                )
            else:
                options = list(limits["categories"])
                if value is not None and value not in options:
                    options.append(value)
                values[feature] = column.selectbox(
                    label,
                    options,
                    index=options.index(value) if value in options else None,
                    format_func=lambda v, f=feature: vocab.value(f, v),
                    accept_new_options=True,
                    key=f"{key}_{feature}",
                    help="Categories seen in training; a new one is explained but flagged.",
                )
        st.form_submit_button("Explain this what-if", type="primary")
    return values


def _output(result: Mapping[str, Any]) -> float:
    probability = result["probability"]
    return float(result["prediction"] if probability is None else probability)


def _drivers(
    result: Mapping[str, Any], vocab: Vocabulary, before: Mapping[str, Any] | None
) -> list[str]:
    """The three largest contributions as sentences; for a what-if, each one's change too."""
    words = vocab.output_words(result["output_space"])
    old = {c["feature"]: c for c in (before or {}).get("contributions", [])}
    lines = []
    for c in result["contributions"][:3]:
        name = vocab.feature(c["feature"])
        value = vocab.value(c["feature"], format_value(c["value"]))
        way = "raises" if c["contribution"] >= 0 else "lowers"
        line = f"{name} = {value} {way} the {words} by {abs(c['contribution']):.3f}"
        if (was := old.get(c["feature"])) is not None and before is not None:
            line += (
                f" (before: {vocab.value(c['feature'], format_value(was['value']))}, "
                f"{was['contribution']:+.3f} → {c['contribution']:+.3f})"
            )
        lines.append(line + ".")
    return lines


def show_decision(
    result: Mapping[str, Any],
    *,
    key: str,
    vocab: Vocabulary,
    before: Mapping[str, Any] | None = None,
) -> None:
    """The model's output, the three drivers as sentences, boundary warnings and the waterfall.

    ``before`` is the recorded row's decision when ``result`` is a hypothetical what-if: the
    output and drivers are then shown as before → after, and the result is labelled as such.
    """
    if before is not None:
        st.info(
            "Hypothetical: the values below were changed by hand; this is what the model would "
            "output for them, not a recorded decision.",
            icon=":material/science:",
        )
    c1, c2, c3 = st.columns(3)
    words = vocab.output_words(
        result["output_space"] if result["probability"] is None else "probability"
    )
    after = _output(result)
    c1.metric(
        escape_label(sentence_case(words)),
        f"{after:.3f}" if before is None else f"{_output(before):.3f} → {after:.3f}",
        delta=None if before is None else f"{after - _output(before):+.3f}",
    )
    if result["probability"] is not None:
        threshold_side = vocab.positive_words if after >= 0.5 else vocab.negative_words
        c2.metric("Predicted at threshold 0.5", threshold_side)
    if result["actual"] is not None and before is None:
        c3.metric(
            escape_label(f"Recorded {vocab.target_words.lower()}"), vocab.outcome(result["actual"])
        )
    for warning in result["boundary_warnings"]:
        st.warning(escape_markdown(warning), icon=":material/warning:")
    if drivers := _drivers(result, vocab, before):
        st.markdown(
            "**Top drivers**\n\n"
            + "\n".join(f"{k}. {escape_markdown(d)}" for k, d in enumerate(drivers, 1))
        )
    st.caption(
        f"Contributions are to the {escape_markdown(vocab.output_words(result['output_space']))}; "
        "they show association with the model's output, not causation."
    )
    show_figure(waterfall_figure(result, vocab), key=key)
    for note in result["notes"]:
        st.caption(escape_markdown(note))

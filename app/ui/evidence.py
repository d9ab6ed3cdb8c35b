"""Computing and showing stored evidence: settings, status banners, checks, notes, provenance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from app import session as user_session
from app.session import CurrentUser
from app.ui.actions import attempt
from app.ui.pickers import PickedVersion
from app.ui.text import (
    INTERVAL_COLUMN,
    escape_markdown,
    format_estimate,
    status_badge,
    status_word,
    threshold_text,
)
from core.services.evidence import (
    EVIDENCE_ROLES,
    Evaluation,
    StoredEvidence,
    evaluate_version,
)

__all__ = [
    "can_compute",
    "checks_frame",
    "compute_evidence",
    "no_evidence",
    "provenance_frame",
    "run_settings",
    "show_checks",
    "show_notes",
    "show_provenance",
    "show_status",
]

# --- Computing ---------------------------------------------------------------------------------


def can_compute(user: CurrentUser) -> bool:
    return user.has(*EVIDENCE_ROLES)


def no_evidence(kind: str, picked: PickedVersion, *, allowed: bool) -> None:
    """Say there is nothing to show, and who could change that."""
    who = (
        "Compute it above."
        if allowed
        else "Someone with one of the roles "
        + ", ".join(r.value for r in EVIDENCE_ROLES)
        + " can compute it."
    )
    st.info(f"No {kind} evidence has been computed for {picked.label} yet. {who}")


def run_settings(prefix: str, config: Mapping[str, Any], *, task: str) -> tuple[float, int, int]:
    """Decision threshold, bootstrap replicates and seed, defaulting to the shown evidence's."""
    c1, c2, c3 = st.columns(3)
    threshold = float(config.get("threshold", 0.5))
    if task == "classification":
        threshold = c1.number_input(
            "Decision threshold",
            min_value=0.0,
            max_value=1.0,
            value=threshold,
            step=0.01,
            format="%.2f",
            key=f"{prefix}_threshold",
            help="A score at or above it is a positive decision.",
        )
    n_boot = c2.number_input(
        "Bootstrap replicates",
        min_value=0,
        max_value=10_000,
        value=int(config.get("n_boot", 1000)),
        step=100,
        key=f"{prefix}_n_boot",
        help="For the 95% intervals; 0 skips them.",
    )
    seed = c3.number_input(
        "Seed",
        min_value=0,
        value=int(config.get("seed", 0)),
        step=1,
        key=f"{prefix}_seed",
        help="Recorded with the evidence; the same seed gives the same numbers.",
    )
    return float(threshold), int(n_boot), int(seed)


def compute_evidence(
    *,
    version_id: int,
    sensitive: Sequence[str] | None,
    segments: Sequence[str],
    references: Mapping[str, str],
    threshold: float,
    n_boot: int,
    seed: int,
) -> Evaluation | None:
    """Compute and store performance and fairness evidence as the signed-in user; say what happened."""
    with st.spinner("Computing performance and fairness evidence…"):
        evaluation = attempt(
            lambda s: evaluate_version(
                session=s,
                actor=user_session.actor(s),
                version_id=version_id,
                sensitive=list(sensitive) if sensitive else None,
                segments=list(segments),
                references=[f"{column}={group}" for column, group in references.items()],
                threshold=threshold,
                n_boot=n_boot,
                seed=seed,
            )
        )
    if evaluation is None:
        return None
    for part in (evaluation.performance, evaluation.fairness):
        if part is None:
            continue
        if part.reproduced:
            st.info(
                f"The {part.kind} evidence is identical to #{part.id}, already stored: the same "
                "inputs, settings, seed and libraries gave the same numbers. The reproduction "
                "is recorded in the audit trail."
            )
        else:
            st.success(f"Stored new {part.kind} evidence #{part.id} (SHA-256 {part.sha256[:12]}…).")
    for note in evaluation.notes:
        st.info(note)
    return evaluation


# --- Checks, notes, provenance ----------------------------------------------------------------


def show_status(status: str | None, *, what: str, checks: Sequence[Mapping[str, Any]]) -> None:
    """One banner: how many checks fail, cannot be made, or pass."""
    counts = Counter(c["status"] for c in checks)
    n, fail, short = len(checks), counts["fail"], counts["insufficient_data"]
    lacking = f" {short} cannot be made (insufficient data)." if short else ""
    if status == "fail":
        st.error(f"{what}: {fail} of {n} checks fail.{lacking}", icon=":material/cancel:")
    elif status == "insufficient_data":
        st.warning(f"{what}: no check fails, but{lacking.lower()}", icon=":material/warning:")
    elif status == "pass":
        st.success(f"{what}: all {n} checks pass.", icon=":material/check_circle:")
    else:
        st.info(f"{what}: the policy sets no checks here; the figures are for information.")


def checks_frame(checks: Sequence[Mapping[str, Any]], *, with_feature: bool) -> pd.DataFrame:
    rows = [
        {
            **({"Feature": c.get("feature")} if with_feature else {}),
            "Check": c["label"],
            "Status": status_word(c["status"]),
            INTERVAL_COLUMN: format_estimate(c.get("value")),
            "Threshold": threshold_text(c),
            "Basis": c["basis"],
        }
        for c in checks
    ]
    return pd.DataFrame(rows)


def show_checks(checks: Sequence[Mapping[str, Any]], *, with_feature: bool = False) -> None:
    """The checks as a table, then each one's sentence for the people who decide."""
    if not checks:
        st.caption("The policy sets no checks for this evidence.")
        return
    st.dataframe(checks_frame(checks, with_feature=with_feature), hide_index=True, width="stretch")
    st.markdown(
        "\n".join(f"- {status_badge(c['status'])} {escape_markdown(c['sentence'])}" for c in checks)
    )


def show_notes(notes: Sequence[str]) -> None:
    if notes:
        st.markdown("\n".join(f"- {escape_markdown(note)}" for note in notes))


def provenance_frame(evidence: StoredEvidence) -> pd.DataFrame:
    when = evidence.computed_at
    rows: list[tuple[str, Any]] = [
        ("Evidence id", evidence.id),
        ("Kind", evidence.kind),
        ("SHA-256", evidence.sha256),
        ("Computed by", evidence.computed_by or "operator (command line or demo)"),
        ("Computed at (UTC)", f"{when:%Y-%m-%d %H:%M:%S}" if hasattr(when, "strftime") else when),
        ("Computing time (s)", f"{evidence.seconds:.2f}"),
    ]
    config_labels = {
        "seed": "Seed",
        "n_boot": "Bootstrap replicates",
        "ci": "Confidence level",
        "threshold": "Decision threshold",
        "sensitive": "Sensitive columns",
        "intersections": "Intersections",
        "reference_groups": "Chosen reference groups",
        "segments": "Segments",
    }
    rows += [
        (label, evidence.config[k]) for k, label in config_labels.items() if k in evidence.config
    ]
    input_labels = {
        "model": "Model",
        "version": "Version",
        "artifact_sha256": "Artifact SHA-256",
        "eval_sha256": "Evaluation data SHA-256",
        "eval_rows": "Evaluation rows",
    }
    rows += [
        (label, evidence.inputs[k]) for k, label in input_labels.items() if k in evidence.inputs
    ]
    rows += [(f"{name} version", v) for name, v in sorted(evidence.environment.items())]

    def text(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "none"
        if isinstance(value, dict):
            return ", ".join(f"{k} = {v}" for k, v in value.items()) or "none"
        return str(value)

    return pd.DataFrame([{"Field": k, "Value": text(v)} for k, v in rows])


def show_provenance(evidence: StoredEvidence) -> None:
    with st.expander(
        "Provenance: inputs, settings, environment, hash", icon=":material/fingerprint:"
    ):
        st.dataframe(provenance_frame(evidence), hide_index=True, width="stretch")
        st.caption(
            "The SHA-256 covers the inputs' hashes, the settings (seed included), the library "
            "versions and the results; the same inputs and seed in the same environment give "
            "the same hash."
        )

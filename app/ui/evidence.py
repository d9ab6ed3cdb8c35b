"""Computing and showing stored evidence: settings, status banners, checks, notes, provenance."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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
    status_word,
    threshold_text,
)
from core.services.evidence import (
    Evaluation,
    StoredEvidence,
    evaluate_version,
)
from core.services.permissions import EVIDENCE_ROLES

__all__ = [
    "STATUS_ORDER",
    "can_compute",
    "checks_frame",
    "compute_evidence",
    "no_evidence",
    "provenance_frame",
    "run_settings",
    "short_sentence",
    "show_checks",
    "show_notes",
    "show_provenance",
    "show_status",
    "worst_first",
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
    """One banner: how many checks fail, are inconclusive, cannot be made, or pass."""
    counts = Counter(c["status"] for c in checks)
    n, fail, short = len(checks), counts["fail"], counts["insufficient_data"]
    unsure = counts["inconclusive"]
    lacking = f" {short} cannot be made (insufficient data)." if short else ""
    lacking += f" {unsure} inconclusive (the interval straddles the threshold)." if unsure else ""
    what = escape_markdown(what)
    if status == "fail" or fail:
        st.error(f"{what}: {fail} of {n} checks fail.{lacking}", icon=":material/cancel:")
    elif status in ("insufficient_data", "inconclusive") or lacking:
        st.warning(f"{what}: no check fails, but{lacking.lower()}", icon=":material/warning:")
    elif status == "pass":
        st.success(f"{what}: all {n} checks pass.", icon=":material/check_circle:")
    else:
        st.info(f"{what}: the policy sets no checks here; the figures are for information.")


#: Worst first: a reader sees what fails before what passes.
STATUS_ORDER = {"fail": 0, "inconclusive": 1, "insufficient_data": 2, "pass": 3}
_STATUS_STYLE = {
    "fail": "color: #b2182b; font-weight: 600",
    "inconclusive": "color: #b35806; font-weight: 600",
    "insufficient data": "color: #b35806",
    "pass": "color: #1a7837",
}
_BASIS = re.compile(r"\s*\(basis: .*\)\.?$")


def worst_first(checks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The checks with failing ones first, then inconclusive, short of data, passing."""
    return sorted(checks, key=lambda c: STATUS_ORDER.get(c["status"], 9))


def short_sentence(check: Mapping[str, Any]) -> str:
    """The check's sentence without its legal basis (shown once, as a footnote)."""
    return _BASIS.sub(".", str(check["sentence"]))


def business_words(sentence: str, feature: str, display: str) -> str:
    """A stored sentence with the column's technical name (``age_band``) in its display name
    (``Age band``): evidence keeps the words it was computed with; readers see the card's."""
    if display == feature:
        return sentence
    return (
        sentence.replace(f" for {feature}:", f" for {display}:")
        .replace(f" for {feature} cannot", f" for {display} cannot")
        .replace(f"{feature} = ", f"{display} ")
    )


def checks_frame(
    checks: Sequence[Mapping[str, Any]],
    *,
    with_feature: bool,
    names: Callable[[str], str] = str,
) -> pd.DataFrame:
    """One row per check, worst first: status, what, the figure, the threshold, in short."""
    rows = [
        {
            "Status": status_word(c["status"]),
            **({"Feature": names(str(c.get("feature")))} if with_feature else {}),
            "Check": c["label"],
            INTERVAL_COLUMN: format_estimate(c.get("value")),
            "Threshold": threshold_text(c),
            "In short": business_words(
                short_sentence(c), str(c.get("feature")), names(str(c.get("feature")))
            ),
        }
        for c in worst_first(checks)
    ]
    return pd.DataFrame(rows)


def show_checks(
    checks: Sequence[Mapping[str, Any]],
    *,
    with_feature: bool = False,
    names: Callable[[str], str] = str,
) -> None:
    """Each check once, worst first, in a table whose status is coloured; each legal basis
    once, as a footnote."""
    if not checks:
        st.caption("The policy sets no checks for this evidence.")
        return
    frame = checks_frame(checks, with_feature=with_feature, names=names)
    st.dataframe(
        frame.style.map(lambda v: _STATUS_STYLE.get(v, ""), subset=["Status"]),
        hide_index=True,
        width="stretch",
        column_config={"In short": st.column_config.TextColumn(width="large")},
    )
    bases = sorted({str(c["basis"]) for c in checks if c.get("basis")})
    if bases:
        st.caption("Basis: " + "; ".join(escape_markdown(b) for b in bases) + ".")


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

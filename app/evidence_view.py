"""Showing stored evidence: estimates with intervals, status banners, checks, charts, provenance.

Pages read evidence as it was stored and never recompute it to show it; these helpers turn the
stored results (``FairnessResult.to_dict()``, ``PerformanceResult.to_dict()``) into tables,
sentences and plotly figures, pick the model version and the evidence to show, and run the one
action that computes new evidence. An undefined figure (stored as None) is shown as
"undefined", never as 0 or NaN.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlmodel import Session

from app import session as user_session
from app.session import CurrentUser
from app.ui import attempt
from core.metrics.fairness import CLASSIFICATION_BETWEEN, REGRESSION_BETWEEN, UNDEFINED_BECAUSE
from core.services.evidence import (
    Evaluation,
    StoredEvidence,
    evaluate_version,
    evidence_for_version,
    get_evidence,
)
from core.services.inventory import get_model, list_versions, model_choices, version_summary
from core.services.permissions import EVIDENCE_ROLES

UNDEFINED = "undefined"
STATUS_WORDS = {
    "pass": "pass",
    "fail": "fail",
    "inconclusive": "inconclusive",
    "insufficient_data": "insufficient data",
}
# Coloured badges in markdown (Streamlit's directive syntax; material icons ship with Streamlit).
STATUS_BADGES = {
    "pass": ":green-badge[:material/check: pass]",
    "fail": ":red-badge[:material/close: fail]",
    "inconclusive": ":orange-badge[:material/contrast: inconclusive]",
    "insufficient_data": ":orange-badge[:material/help: insufficient data]",
}
INTERVAL_COLUMN = "Measured (95% interval)"
#: Columns of a fairness group table, in order (classification, then regression metrics).
GROUP_COLUMNS = {
    "base_rate": "Base rate",
    "selection_rate": "Selection rate",
    "selection_rate_ratio": "Ratio to reference",
    "accuracy": "Accuracy",
    "true_positive_rate": "TPR",
    "false_positive_rate": "FPR",
    "false_negative_rate": "FNR",
    "precision": "Precision",
    "mean_prediction": "Mean prediction",
    "mean_absolute_error": "Mean absolute error",
}
# Characters that would turn user text (group, column and model names) into markdown or LaTeX.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$])")
# Columns of whole numbers or text can be grouped; continuous numbers need banding first.
_CONTINUOUS = ("float", "double", "decimal")


# --- Text ----------------------------------------------------------------------------------------


def escape_markdown(text: object) -> str:
    """Text shown literally in markdown, whatever characters it holds."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def format_estimate(
    estimate: Mapping[str, Any] | None, *, digits: int = 3, undefined: str = UNDEFINED
) -> str:
    """``0.812 (0.79–0.83)``: the value and its interval; ``undefined`` when there is no value."""
    value = (estimate or {}).get("value")
    if value is None:
        return undefined
    text = f"{value:.{digits}f}"
    lower, upper = (estimate or {}).get("lower"), (estimate or {}).get("upper")
    if lower is None or upper is None:
        return text
    return f"{text} ({lower:.{digits - 1}f}–{upper:.{digits - 1}f})"


def format_change(new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> str:
    """The change of a point estimate, signed (``+0.012``); undefined if either side is."""
    a, b = (new or {}).get("value"), (old or {}).get("value")
    return UNDEFINED if a is None or b is None else f"{a - b:+.3f}"


def status_word(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", "no checks")


def status_badge(status: str | None) -> str:
    """The status as a coloured markdown badge."""
    return STATUS_BADGES.get(status or "", ":gray-badge[no checks]")


def threshold_text(check: Mapping[str, Any]) -> str:
    sign = "≥" if check.get("direction") == "at_least" else "≤"
    return f"{sign} {check['threshold']:g}"


def _sentence_case(label: str) -> str:
    return label[:1].upper() + label[1:]


# --- Picking what to show ----------------------------------------------------------------------


@dataclass(frozen=True)
class PickedVersion:
    """The model version a page shows, with its model's other versions."""

    model_id: int
    model_name: str
    production_version_id: int | None
    version: dict[str, Any]
    versions: list[dict[str, Any]]

    @property
    def version_id(self) -> int:
        return int(self.version["version_id"])

    @property
    def label(self) -> str:
        return f"{self.model_name} v{self.version['version']}"

    def number(self, version_id: int) -> int | None:
        """The version number of another version of the model."""
        return next((v["version"] for v in self.versions if v["version_id"] == version_id), None)

    @property
    def group_columns(self) -> list[str]:
        """Evaluation-data columns that make groups: everything but the target and decimals."""
        schema = (self.version.get("eval_dataset") or {}).get("schema") or []
        return [
            str(c["name"])
            for c in schema
            if c["name"] != self.version["target"]
            and not str(c.get("dtype", "")).lower().startswith(_CONTINUOUS)
        ]


def pick_version(prefix: str) -> PickedVersion:
    """Model and version pickers, kept in the ``?model=&version=`` query parameters."""
    choices = attempt(lambda s: model_choices(session=s)) or []
    if not choices:
        st.info("The inventory is empty; register a model first.")
        st.stop()
    ids = {name: i for i, name in choices}
    wanted = st.query_params.get("model")
    default = next((k for k, (i, _) in enumerate(choices) if str(i) == wanted), 0)
    left, right = st.columns(2)
    names = [name for _, name in choices]
    model_id = ids[left.selectbox("Model", names, index=default, key=f"{prefix}_model")]

    def load(s: Session) -> tuple[Any, list[dict[str, Any]]]:
        model = get_model(session=s, model_id=model_id)
        versions = list_versions(session=s, model_id=model_id)
        return model, [version_summary(session=s, version=v).to_dict() for v in versions]

    loaded = attempt(load)
    if loaded is None or not loaded[1]:
        st.stop()
    model, versions = loaded
    labels = [f"v{v['version']} · {v['stage']}" for v in versions]
    wanted = st.query_params.get("version")
    index = next((k for k, v in enumerate(versions) if str(v["version_id"]) == wanted), 0)
    # One picker per model: another model's versions are other options.
    label = right.selectbox("Version", labels, index=index, key=f"{prefix}_version_{model_id}")
    chosen = versions[labels.index(label)]
    st.query_params["model"] = str(model_id)
    st.query_params["version"] = str(chosen["version_id"])
    return PickedVersion(
        model_id=model_id,
        model_name=model.name,
        production_version_id=model.production_version_id,
        version=chosen,
        versions=versions,
    )


def _evidence_label(row: Mapping[str, Any]) -> str:
    when = row["computed_at"]
    when = f"{when:%Y-%m-%d %H:%M:%S}" if hasattr(when, "strftime") else str(when)
    return f"#{row['evidence_id']} · {when} UTC · {status_word(row['status'])}"


def choose_evidence(
    *, key: str, version_id: int, kind: str, select: int | None = None
) -> StoredEvidence | None:
    """A picker of the version's stored evidence of one kind (newest first), and the chosen one.

    ``select`` shows that evidence, e.g. the one just computed: a computation that reproduces
    older evidence returns the older row, which is then not the newest.
    """
    rows = attempt(lambda s: evidence_for_version(session=s, version_id=version_id)) or []
    rows = [r for r in rows if r["kind"] == kind]
    if not rows:
        return None
    labels = [_evidence_label(r) for r in rows]
    if select is not None:
        st.session_state[key] = next(
            label for label, r in zip(labels, rows, strict=True) if r["evidence_id"] == select
        )
    label = st.selectbox(
        "Evidence shown",
        labels,
        key=key,
        help="Every computation is kept, newest first; nothing is ever overwritten.",
    )
    chosen = rows[labels.index(label)]
    if chosen is not rows[0]:
        st.caption(f"Newer {kind} evidence exists: {labels[0]}.")
    return attempt(lambda s: get_evidence(session=s, evidence_id=chosen["evidence_id"]))


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
    if unsure:
        lacking = f" {unsure} inconclusive (the interval reaches across the threshold).{lacking}"
    if status == "fail":
        st.error(f"{what}: {fail} of {n} checks fail.{lacking}", icon=":material/cancel:")
    elif status in ("inconclusive", "insufficient_data"):
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
                first: _sentence_case(label),
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
            f"Predicted {negative}": [tn, fn],
            f"Predicted {positive}": [fp, tp],
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
        row = {"Metric": _sentence_case(label), this: format_estimate(current[key])}
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
    titles = {key: _sentence_case(label) for key, label in labels.items()}
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


def show_fairness_feature(
    feature: Mapping[str, Any], *, results: Mapping[str, Any], key: str
) -> None:
    """One sensitive column or intersection: groups, charts, between-group gaps, exclusions."""
    regression = results["task"] == "regression"
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
    st.dataframe(
        wide_frame(
            feature["groups"], GROUP_COLUMNS, leading=leading, undefined_because=UNDEFINED_BECAUSE
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Each figure: estimate (95% interval). TPR, FPR, FNR: true-positive, false-positive and "
        "false-negative rates."
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
    show_notes([d for c in feature["checks"] for d in c.get("details", [])])
    for excluded in feature["excluded_groups"]:
        st.warning(
            f"{escape_markdown(excluded['group'])}: {excluded['reason']}.",
            icon=":material/group_off:",
        )
    show_notes(feature["notes"])


# --- Figures -----------------------------------------------------------------------------------


def _error_bars(estimates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def gap(e: Mapping[str, Any], bound: str, above: bool) -> float | None:
        value, edge = e.get("value"), e.get(bound)
        if value is None or edge is None:
            return None
        return max(edge - value, 0.0) if above else max(value - edge, 0.0)

    return {
        "type": "data",
        "symmetric": False,
        "array": [gap(e, "upper", True) for e in estimates],
        "arrayminus": [gap(e, "lower", False) for e in estimates],
    }


def group_rates_figure(
    groups: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, str],
    *,
    reference: str | None = None,
    min_ratio: float | None = None,
    y_title: str = "rate",
) -> go.Figure:
    """Bars per group of each metric with its 95% interval; for the selection rate, the
    reference group's rate and the four-fifths line (``min_ratio`` × that rate).

    Groups too small for pass/fail are drawn faint.
    """
    fig = go.Figure()
    # Plotly reads a little HTML in labels: group names are shown as text.
    names = [html.escape(str(g["group"])) for g in groups]
    opacity = [1.0 if g["eligible"] else 0.35 for g in groups]
    for key, title in metrics.items():
        estimates = [g["metrics"].get(key) or {} for g in groups]
        fig.add_trace(
            go.Bar(
                name=title,
                x=names,
                y=[e.get("value") for e in estimates],
                error_y=_error_bars(estimates),
                marker={"opacity": opacity},
                customdata=[
                    [format_estimate(e), "" if g["eligible"] else " (too small for pass/fail)"]
                    for e, g in zip(estimates, groups, strict=True)
                ],
                hovertemplate="%{x}%{customdata[1]}<br>"
                + html.escape(title)
                + ": %{customdata[0]}<extra></extra>",
            )
        )
    ref = next((g for g in groups if g["group"] == reference), None)
    rate = ((ref or {}).get("metrics", {}).get("selection_rate") or {}).get("value")
    if ref is not None and rate is not None and "selection_rate" in metrics:
        fig.add_hline(
            y=rate,
            line_dash="dash",
            line_color="grey",
            annotation_text=f"reference {html.escape(str(reference))}: {rate:.2f}",
            annotation_position="top left",
            annotation_bgcolor="rgba(255, 255, 255, 0.8)",
        )
        if min_ratio is not None:
            fig.add_hline(
                y=min_ratio * rate,
                line_dash="dot",
                line_color="firebrick",
                annotation_text=f"four-fifths line: {min_ratio:g} × reference = {min_ratio * rate:.2f}",
                annotation_position="bottom left",
                annotation_bgcolor="rgba(255, 255, 255, 0.8)",
            )
    fig.update_layout(
        barmode="group",
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 30, "b": 10},
    )
    return fig


def calibration_figure(bins: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Reliability diagram: mean predicted score against the observed rate, per score decile."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfectly calibrated",
            line={"dash": "dash", "color": "grey"},
            hoverinfo="skip",
        )
    )
    predicted = [b["mean_predicted"] for b in bins]
    observed = [b["observed_rate"] for b in bins]
    fig.add_trace(
        go.Scatter(
            x=[p.get("value") for p in predicted],
            y=[o.get("value") for o in observed],
            mode="lines+markers",
            name="observed rate (95% interval)",
            error_y=_error_bars(observed),
            error_x=_error_bars(predicted),
            customdata=[
                [b["count"], f"{b['lower']:.2f}–{b['upper']:.2f}", format_estimate(o)]
                for b, o in zip(bins, observed, strict=True)
            ],
            hovertemplate=(
                "scores %{customdata[1]} (%{customdata[0]} rows)<br>mean predicted %{x:.3f}"
                "<br>observed %{customdata[2]}<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        xaxis={"title": "mean predicted probability", "range": [0, 1]},
        yaxis={"title": "observed positive rate", "range": [0, 1.05]},
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 30, "b": 10},
    )
    return fig


def roc_figure(curve: Mapping[str, Sequence[float]], auc: float | None) -> go.Figure:
    """The stored ROC curve with the diagonal of a model that guesses."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="guessing", line={"dash": "dot", "color": "grey"}
        )
    )
    name = "ROC" if auc is None else f"ROC (AUC {auc:.3f})"
    fig.add_trace(go.Scatter(x=list(curve["fpr"]), y=list(curve["tpr"]), mode="lines", name=name))
    fig.update_layout(
        xaxis_title="false-positive rate",
        yaxis_title="true-positive rate",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        height=360,
        margin={"t": 10, "b": 40, "l": 50, "r": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def score_distribution_figure(bins: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Rows per calibration bin, drawn over the bin's score range (a coarse histogram)."""
    fig = go.Figure(
        go.Bar(
            x=[(b["lower"] + b["upper"]) / 2 for b in bins],
            width=[max(b["upper"] - b["lower"], 0.005) for b in bins],
            y=[b["count"] / max(b["upper"] - b["lower"], 0.005) for b in bins],
            customdata=[[b["count"], f"{b['lower']:.2f}–{b['upper']:.2f}"] for b in bins],
            hovertemplate="scores %{customdata[1]}: %{customdata[0]} rows<extra></extra>",
            name="rows",
        )
    )
    fig.update_layout(
        xaxis={"title": "predicted probability", "range": [0, 1]},
        yaxis={"title": "rows per unit of score"},
        margin={"t": 30, "b": 10},
    )
    return fig


def show_figure(fig: go.Figure, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})

"""Showing stored explanation evidence: plotly charts and tables from the stored results.

Every chart is built from the evidence as stored (``core.services.evidence.compute_explanation``)
and names the output space its numbers are in (log-odds, probability or raw model output), so
nobody reads a log-odds contribution as a change of probability.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import session as user_session
from app.evidence_view import escape_markdown, show_figure
from app.ui import attempt, show_problems
from core.db import session_scope
from core.errors import GatehouseError
from core.services.evidence import (
    EXPLANATION,
    StoredEvidence,
    explain_decision,
    require_applicant_access,
)
from core.services.jobs import latest_job, start_background_worker
from core.tables import Job, User

SPACE_NAMES = {"log_odds": "log-odds", "probability": "probability", "raw": "raw model output"}
# Red: the feature's value is high in its column; blue: low; grey: text or missing.
_COLORSCALE = [[0.0, "#1f77b4"], [0.5, "#c7c7c7"], [1.0, "#d62728"]]
_RANGE_FILL = "rgba(44, 160, 44, 0.10)"
_MAX_BEESWARM_FEATURES = 15
_MAX_WATERFALL_BARS = 10


def space_name(space: str) -> str:
    """The output space in words: "log-odds", "probability" or "raw model output"."""
    return SPACE_NAMES.get(space, space)


def shap_axis(results: Mapping[str, Any]) -> str:
    """Axis title of SHAP values, naming the output space."""
    return f"SHAP value ({results['output_label']})"


def format_value(value: Any) -> str:
    """A feature value as a person writes it: 0.62, 54,585, 41, south, missing."""
    if value is None:
        return "missing"
    if isinstance(value, float | int):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{int(number):,}"
        return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.3g}"
    return str(value)


def _layout(fig: go.Figure, **kwargs: Any) -> go.Figure:
    fig.update_layout(margin={"t": 40, "b": 10, "l": 10, "r": 10}, **kwargs)
    return fig


# --- Global importance -------------------------------------------------------------------------


def importance_figure(results: Mapping[str, Any]) -> go.Figure:
    """Mean |SHAP| per feature with its bootstrap 95% interval, most important on top."""
    items = list(results["global_importance"])[::-1]
    fig = go.Figure(
        go.Bar(
            x=[i["mean_abs_shap"] for i in items],
            y=[i["feature"] for i in items],
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [i["ci_high"] - i["mean_abs_shap"] for i in items],
                "arrayminus": [i["mean_abs_shap"] - i["ci_low"] for i in items],
            },
            customdata=[[i["rank"], i["ci_low"], i["ci_high"], 100 * i["share"]] for i in items],
            hovertemplate=(
                "%{y} (rank %{customdata[0]}): %{x:.4f}<br>95% interval "
                "%{customdata[1]:.4f}–%{customdata[2]:.4f}<br>%{customdata[3]:.1f}% of the "
                "total<extra></extra>"
            ),
        )
    )
    return _layout(
        fig,
        title={"text": f"Mean |SHAP| in {space_name(results['output_space'])}", "x": 0},
        xaxis={"title": f"mean |SHAP value| ({results['output_label']})"},
        height=max(260, 34 * len(items) + 90),
    )


def _swarm_offsets(values: np.ndarray, width: float = 0.38, bins: int = 60) -> np.ndarray:
    """Vertical offsets that spread points of similar SHAP value apart (a beeswarm)."""
    offsets = np.zeros(len(values))
    if len(values) == 0:
        return offsets
    low, high = float(values.min()), float(values.max())
    slot = np.zeros(len(values), dtype=int)
    if high > low:
        slot = np.minimum(((values - low) / (high - low) * bins).astype(int), bins - 1)
    counts = np.bincount(slot, minlength=bins)
    step = width / max(int(counts.max()), 1) * 2
    seen = np.zeros(bins, dtype=int)
    for i in np.argsort(values, kind="stable"):
        k = seen[slot[i]]
        seen[slot[i]] += 1
        # 0, +1, -1, +2, -2, ... steps from the feature's line
        offsets[i] = ((k + 1) // 2) * step * (1 if k % 2 else -1)
    return offsets


def _colour_values(values: Sequence[Any]) -> list[float | None]:
    """Each numeric value's rank in its column, from 0 (lowest) to 1 (highest); None for text."""
    numbers = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
    if numbers.notna().sum() < max(1, len(values) // 2):
        return [None] * len(values)
    ranks = numbers.rank(pct=True)
    return [None if pd.isna(r) else float(r) for r in ranks]


def beeswarm_figure(results: Mapping[str, Any]) -> go.Figure:
    """SHAP value of every plotted row per feature; colour = the row's value of the feature."""
    order = [i["feature"] for i in results["global_importance"]][:_MAX_BEESWARM_FEATURES]
    summary = {s["feature"]: s for s in results["summary"]}
    fig = go.Figure()
    for position, feature in enumerate(order[::-1]):
        points = summary[feature]
        shap_values = np.asarray(points["shap_values"], dtype=float)
        colours = _colour_values(points["feature_values"])
        numeric = any(c is not None for c in colours)
        fig.add_trace(
            go.Scattergl(
                x=shap_values,
                y=position + _swarm_offsets(shap_values),
                mode="markers",
                name=feature,
                showlegend=False,
                marker={
                    "size": 4,
                    "opacity": 0.7,
                    **(
                        {
                            "color": np.array([0.5 if c is None else c for c in colours]),
                            "coloraxis": "coloraxis",
                        }
                        if numeric
                        else {"color": "#7f7f7f"}
                    ),
                },
                # numpy arrays: plotly validates them at once, lists item by item (slow)
                customdata=np.array([format_value(v) for v in points["feature_values"]]),
                hovertemplate=f"{feature} = %{{customdata}}<br>SHAP %{{x:.4f}}<extra></extra>",
            )
        )
    fig.add_vline(x=0, line={"color": "grey", "width": 1})
    return _layout(
        fig,
        title={"text": f"Summary (beeswarm) in {space_name(results['output_space'])}", "x": 0},
        xaxis={"title": shap_axis(results)},
        yaxis={
            "tickvals": list(range(len(order))),
            "ticktext": order[::-1],
            "zeroline": False,
        },
        coloraxis={
            "colorscale": _COLORSCALE,
            "cmin": 0,
            "cmax": 1,
            "colorbar": {
                "title": {"text": "feature value"},
                "tickvals": [0, 1],
                "ticktext": ["low", "high"],
                "len": 0.6,
            },
        },
        height=max(300, 42 * len(order) + 100),
    )


# --- Dependence and partial dependence -----------------------------------------------------------


def _numeric(values: Sequence[Any]) -> bool:
    return all(v is None or isinstance(v, int | float) for v in values)


def _mark_range(fig: go.Figure, limits: Mapping[str, Any]) -> None:
    """Shade the feature's operating range (training min to max); dotted lines at p5/p95."""
    if limits.get("kind") != "numeric" or limits.get("minimum") is None:
        return
    fig.add_vrect(
        x0=limits["minimum"],
        x1=limits["maximum"],
        fillcolor=_RANGE_FILL,
        line_width=0,
        layer="below",
        annotation_text=f"{limits['source']} range",
        annotation_position="top left",
    )
    for key in ("p05", "p95"):
        if limits.get(key) is not None:
            fig.add_vline(x=limits[key], line={"dash": "dot", "color": "#2ca02c", "width": 1})


def dependence_figure(dependence: Mapping[str, Any], results: Mapping[str, Any]) -> go.Figure:
    """SHAP value against feature value for one top feature, operating range shaded."""
    feature = dependence["feature"]
    values = dependence["feature_values"]
    limits = dependence["operating_range"]
    fig = go.Figure(
        go.Scattergl(
            x=np.array(
                values if _numeric(values) else [format_value(v) for v in values],
                dtype=float if _numeric(values) else object,
            ),
            y=np.asarray(dependence["shap_values"], dtype=float),
            mode="markers",
            marker={"size": 5, "opacity": 0.6},
            hovertemplate=f"{feature} = %{{x}}<br>SHAP %{{y:.4f}}<extra></extra>",
            showlegend=False,
        )
    )
    _mark_range(fig, limits)
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    return _layout(
        fig,
        title={"text": f"{feature}: dependence ({space_name(results['output_space'])})", "x": 0},
        xaxis={"title": feature},
        yaxis={"title": shap_axis(results)},
        height=380,
    )


def partial_dependence_figure(curve: Mapping[str, Any]) -> go.Figure:
    """Average (PD, bold) and individual (ICE, thin) curves; training range shaded, grid
    points outside it marked."""
    feature = curve["feature"]
    numeric = curve["kind"] == "numeric"
    grid = list(curve["grid"]) if numeric else [format_value(v) for v in curve["grid"]]
    ice_x: list[Any] = []
    ice_y: list[Any] = []
    for line in curve["individual"]:
        ice_x += [*grid, None]
        ice_y += [*line, None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.array(ice_x, dtype=object if not numeric else float),
            y=np.array(ice_y, dtype=float),
            mode="lines",
            line={"color": "rgba(120, 120, 120, 0.25)", "width": 1},
            name=f"ICE ({len(curve['individual'])} rows)",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=grid,
            y=curve["average"],
            mode="lines+markers",
            line={"color": "#d62728", "width": 3},
            name=f"partial dependence (average of {curve['n_rows']} rows)",
            hovertemplate=f"{feature} = %{{x}}<br>average %{{y:.4f}}<extra></extra>",
        )
    )
    outside = [k for k, inside in enumerate(curve["grid_inside_range"]) if not inside]
    if outside:
        fig.add_trace(
            go.Scatter(
                x=[grid[k] for k in outside],
                y=[curve["average"][k] for k in outside],
                mode="markers",
                marker={"symbol": "x", "size": 10, "color": "black"},
                name="outside the training range",
            )
        )
    _mark_range(fig, curve["operating_range"])
    return _layout(
        fig,
        title={"text": f"{feature}: partial dependence and ICE", "x": 0},
        xaxis={"title": feature},
        yaxis={"title": curve["output_label"]},
        legend={"orientation": "h", "y": -0.25},
        height=420,
    )


# --- Stability, provenance -------------------------------------------------------------------


def stability_frame(stability: Mapping[str, Any]) -> pd.DataFrame:
    """Rank of each top feature in the main run and in each re-run; unstable ones marked."""
    unstable = set(stability["unstable_features"])
    seeds = stability["seeds"]
    rows = []
    for feature in stability["top_features"]:
        ranks = stability["ranks"][feature]
        row: dict[str, Any] = {"Feature": feature, "Rank": ranks[0]}
        for seed, rank in zip(seeds, ranks[1:], strict=False):
            row[f"Rank, run with seed {seed}"] = rank
        row["Largest move"] = max((abs(r - ranks[0]) for r in ranks[1:]), default=0)
        row["Stable"] = "⚠️ unstable" if feature in unstable else "✅ stable"
        rows.append(row)
    return pd.DataFrame(rows)


def stability_sentence(stability: Mapping[str, Any]) -> str:
    taus = ", ".join("n/a" if t is None else f"{t:.2f}" for t in stability["kendall_tau"])
    unstable = stability["unstable_features"]
    moved = (
        f"unstable (rank moves by more than {stability['rank_tolerance']}): {', '.join(unstable)}"
        if unstable
        else f"no top feature moves by more than {stability['rank_tolerance']} ranks"
    )
    return f"Kendall's tau of the top features' importances against the main run: {taus}; {moved}."


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
        ("Output space", f"{space_name(results['output_space'])}: {results['output_label']}"),
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


# --- One decision ----------------------------------------------------------------------------


def waterfall_figure(decision: Mapping[str, Any]) -> go.Figure:
    """From the base value, each feature's contribution, to the model's output for the row."""
    contributions = list(decision["contributions"])
    shown = contributions[:_MAX_WATERFALL_BARS]
    rest = contributions[_MAX_WATERFALL_BARS:]
    labels = [f"{c['feature']} = {format_value(c['value'])}" for c in shown]
    values = [c["contribution"] for c in shown]
    if rest:
        labels.append(f"{len(rest)} other features")
        values.append(sum(c["contribution"] for c in rest))
    labels = ["base value", *labels, "model output"]
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=labels,
            x=[decision["base_value"], *values, decision["prediction"]],
            measure=["absolute", *["relative"] * len(values), "total"],
            increasing={"marker": {"color": "#d62728"}},
            decreasing={"marker": {"color": "#1f77b4"}},
            totals={"marker": {"color": "#7f7f7f"}},
            connector={"line": {"color": "#bbbbbb", "width": 1}},
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    return _layout(
        fig,
        title={"text": f"Contributions in {space_name(decision['output_space'])}", "x": 0},
        xaxis={"title": decision["output_label"]},
        yaxis={"autorange": "reversed"},  # base value on top, the model's output at the bottom
        height=max(320, 32 * len(labels) + 100),
    )


# --- Streamlit pieces: the job's progress, one decision ------------------------------------------

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
            st.session_state[SHOW_EVIDENCE.format(version_id=version_id)] = current.evidence_id
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


def what_if_form(key: str, base: Mapping[str, Any]) -> dict[str, Any]:
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
            if limits["kind"] == "numeric":
                span = (
                    f"Training range {format_value(limits['minimum'])} to "
                    f"{format_value(limits['maximum'])}."
                    if limits.get("minimum") is not None
                    else None
                )
                values[feature] = column.number_input(
                    feature, value=value, format="%g", key=f"{key}_{feature}", help=span
                )
            else:
                options = list(limits["categories"])
                if value is not None and value not in options:
                    options.append(value)
                values[feature] = column.selectbox(
                    feature,
                    options,
                    index=options.index(value) if value in options else None,
                    accept_new_options=True,
                    key=f"{key}_{feature}",
                    help="Categories seen in training; a new one is explained but flagged.",
                )
        st.form_submit_button("Explain this what-if", type="primary")
    return values


def show_decision(result: Mapping[str, Any], *, key: str) -> None:
    """Prediction, the three drivers as sentences, boundary warnings and the waterfall."""
    c1, c2, c3 = st.columns(3)
    positive = result["positive_class"]
    if result["probability"] is not None:
        c1.metric(f"Probability of {result['target']} = {positive}", f"{result['probability']:.3f}")
    c2.metric(f"Model output ({space_name(result['output_space'])})", f"{result['prediction']:.4f}")
    if result["actual"] is not None:
        c3.metric(f"Recorded {result['target']}", str(result["actual"]))
    for warning in result["boundary_warnings"]:
        st.warning(warning, icon=":material/warning:")
    if result["drivers"]:
        st.markdown(
            "**Top drivers**\n\n"
            + "\n".join(f"{k}. {escape_markdown(d)}" for k, d in enumerate(result["drivers"], 1))
        )
    st.caption(
        f"Contributions are in {escape_markdown(result['output_label'])}; they show association "
        "with the model's output, not causation."
    )
    show_figure(waterfall_figure(result), key=key)
    for note in result["notes"]:
        st.caption(escape_markdown(note))

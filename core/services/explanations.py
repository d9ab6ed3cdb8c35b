"""Explanation evidence of a model version: SHAP, partial dependence, and single decisions.

``compute_explanation`` reads the version's model, evaluation and training data (each checked
against the hash recorded at registration), explains the model on a seeded, label-stratified
sample (:func:`core.metrics.explain.explain_model`), adds partial dependence and ICE curves for
the top features (:func:`core.metrics.pdp.partial_dependence_curves`), and stores ONE evidence
row of kind "explanation" holding everything the Explanations page and reports show. Nothing
is stored when additivity fails. It is slow for big forests, so pages and the CLI run it as a
background job (``submit_explanation``, then a worker calls ``run_explanation_job``).

``explain_decision`` explains one applicant live (one row is fast): a row of the evaluation
data by position, or a what-if record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session

from core.db import session_scope
from core.errors import InputProblems, NotFound
from core.files.datasets import read_data
from core.metrics.explain import (
    ExplainInputError,
    ExplanationResult,
    Progress,
    explain_model,
    explain_row,
)
from core.metrics.pdp import partial_dependence_curves
from core.services.evidence import (
    UNKNOWN_VERSION,
    StoredEvidence,
    checked_file,
    feature_frame,
    get_version,
    load_evaluation_data,
    load_version_model,
    store_evidence,
)
from core.services.jobs import JobContext, submit_job
from core.services.permissions import EVIDENCE_ROLES, Actor, require_role
from core.tables import Dataset, Job, ModelEntry, ModelVersion

__all__ = [
    "DEFAULT_BACKGROUND",
    "DEFAULT_ROWS",
    "EXPLANATION",
    "TOP_FEATURES",
    "compute_explanation",
    "explain_decision",
    "explanation_summary",
    "run_explanation_job",
    "search_rows",
    "submit_explanation",
]

EXPLANATION = "explanation"
DEFAULT_ROWS = 2000
DEFAULT_BACKGROUND = 100
#: Features with dependence plots, partial dependence curves and a stability rank check.
TOP_FEATURES = 6
# Fixed settings of the computation, stored with the evidence (they change the numbers).
_SETTINGS = {
    "top_k": TOP_FEATURES,
    "n_boot": 200,
    "max_points": 1000,
    "stability_rows": 200,
    "rank_tolerance": 2,
    "max_evals": 500,
    "pdp_grid_resolution": 20,
    "pdp_ice_rows": 50,
    "pdp_max_rows": 1000,
}

BAD_PARAMETER = "{name} must be {expected}; got {value!r}."
UNKNOWN_PARAMETERS = "Unknown explanation job parameters {names}; use rows, seed and background."
NOT_STORED = (
    "No explanation evidence was stored for version {version}: the SHAP values do not add up "
    "to the model's output, so they cannot be trusted."
)
NO_TRAINING_DATA = (
    "Version {version} has no training data registered; operating ranges come from the "
    "evaluation data instead."
)
PDP_FAILED = "No partial dependence curve for {feature!r}: {problem}"
ROW_AND_RECORD = (
    "Explain a row of the evaluation data (row_index) or a what-if record (record), not both."
)
NO_ROW_OR_RECORD = (
    "Say which decision to explain: a row of the evaluation data (row_index) or a what-if "
    "record (record)."
)
BAD_ROW = (
    "Row {row!r} is not in the evaluation data of version {version}; choose a row number "
    "from 0 to {last}."
)
NOT_A_RECORD = "The what-if record is a {kind}; give a mapping of feature name to value."


@dataclass(frozen=True)
class _Inputs:
    version: ModelVersion
    model: Any
    X: pd.DataFrame
    y: pd.Series | None
    X_train: pd.DataFrame | None
    inputs: dict[str, Any]
    notes: tuple[str, ...]


def _load(session: Session, version_id: int) -> _Inputs:
    """Model, evaluation and training data of a version, each checked against its hash."""
    version = get_version(session, version_id)
    frame, eval_dataset = load_evaluation_data(session, version)
    train_frame, train_dataset = None, None
    if version.train_dataset_id is not None:
        train_dataset = session.get(Dataset, version.train_dataset_id)
        if train_dataset is None:
            raise NotFound(
                [f"The training dataset of version {version.id} is not in the database."]
            )
        file = checked_file(train_dataset.path, train_dataset.sha256, "training data", version)
        train_frame = read_data(file).frame
    model = load_version_model(version)
    model_row = session.get(ModelEntry, version.model_id)
    problems = []
    X = feature_frame(version, frame)
    X_train = None
    if train_frame is not None:
        if missing := [c for c in X.columns if c not in train_frame.columns]:
            problems.append(
                f"Feature columns missing from the training data of version {version.id}: "
                f"{missing}; register the version again with complete training data."
            )
        else:
            X_train = train_frame[list(X.columns)]
    if problems:
        raise InputProblems(problems)
    y = frame[version.target] if version.target in frame.columns else None
    return _Inputs(
        version=version,
        model=model,
        X=X,
        y=y,
        X_train=X_train,
        inputs={
            "artifact_sha256": version.artifact_sha256,
            "eval_sha256": eval_dataset.sha256,
            "eval_rows": len(frame),
            "train_sha256": train_dataset.sha256 if train_dataset else None,
            "train_rows": len(train_frame) if train_frame is not None else None,
            "model": model_row.name if model_row else None,
            "version": version.version,
        },
        notes=() if X_train is not None else (NO_TRAINING_DATA.format(version=version.id),),
    )


def _parameter_problems(**values: Any) -> list[str]:
    """Rows (at least 2), seed (at least 0) and background (at least 1) must be integers."""
    minimum = {"rows": 2, "seed": 0, "background": 1}
    return [
        BAD_PARAMETER.format(
            name=name.capitalize(),
            expected=f"a whole number of at least {minimum[name]}",
            value=value,
        )
        for name, value in values.items()
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum[name])
    ]


def _within(progress: Progress | None, start: float, end: float) -> Progress | None:
    """A progress callback that maps [0, 1] onto [start, end] of ``progress``."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (end - start) * fraction, message)


def _partial_dependence(
    data: _Inputs, features: tuple[str, ...], seed: int, progress: Progress | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Curves for each feature; a feature whose curve fails gets a note, not a refusal."""
    X, X_train = data.X, data.X_train
    curves, notes = [], []
    for i, feature in enumerate(features):
        if progress is not None:
            progress(i / max(len(features), 1), f"Partial dependence of {feature}")
        try:
            (curve,) = partial_dependence_curves(
                model=data.model,
                X=X,
                features=[feature],
                X_train=X_train,
                grid_resolution=_SETTINGS["pdp_grid_resolution"],
                ice_rows=_SETTINGS["pdp_ice_rows"],
                max_rows=_SETTINGS["pdp_max_rows"],
                seed=seed,
            )
        except ExplainInputError as err:
            notes += [PDP_FAILED.format(feature=feature, problem=p) for p in err.problems]
            continue
        curves.append(curve.to_dict())
    return curves, notes


def _status(result: ExplanationResult) -> str:
    return "warning" if result.stability.unstable_features else "pass"


def compute_explanation(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    background: int = DEFAULT_BACKGROUND,
    progress: Progress | None = None,
) -> StoredEvidence:
    """Explain a version and store the result as one "explanation" evidence row.

    Parameters
    ----------
    actor
        Who computes (needs one of ``EVIDENCE_ROLES``), or OPERATOR.
    rows
        Evaluation rows explained at most: a sample stratified by the label, drawn with ``seed``.
    background
        Background rows for the linear and permutation explainers (TreeSHAP needs none).
    progress
        ``progress(fraction, message)``; only called while no transaction of ``session`` is
        open, so a callback may write in its own transaction even on SQLite (one writer).

    Returns
    -------
    StoredEvidence
        Status "pass", or "warning" when a top feature's rank is unstable. The same inputs,
        settings and seed in the same environment give the same numbers, hence the same row
        (``reproduced`` is then True). Raises InputProblems, and stores nothing, when the
        SHAP values fail the additivity check.

    The results hold the explanation (importances with intervals, beeswarm points for at most
    1,000 rows, dependence data, stability, provenance, notes: see
    :class:`core.metrics.explain.ExplanationResult`) and ``partial_dependence``: PD and ICE
    curves of the top features with the training range marked.
    """
    require_role(session, actor, "compute evidence", *EVIDENCE_ROLES)
    if problems := _parameter_problems(rows=rows, seed=seed, background=background):
        raise InputProblems(problems)
    data = _load(session, version_id)
    # Commit before the long computation: on SQLite an open transaction holds the only write
    # lock, which the progress callback (and every other user) would otherwise wait for.
    session.commit()
    started = time.perf_counter()
    if progress is not None:
        progress(0.02, "Model and data loaded")
    result = explain_model(
        model=data.model,
        X=data.X,
        y=data.y,
        X_train=data.X_train,
        max_rows=rows,
        background_size=background,
        seed=seed,
        top_k=_SETTINGS["top_k"],
        n_boot=_SETTINGS["n_boot"],
        max_points=_SETTINGS["max_points"],
        stability_rows=_SETTINGS["stability_rows"],
        rank_tolerance=_SETTINGS["rank_tolerance"],
        max_evals=_SETTINGS["max_evals"],
        progress=_within(progress, 0.02, 0.85),
    )
    if result.failures:
        raise InputProblems([NOT_STORED.format(version=data.version.id), *result.failures])
    curves, pdp_notes = _partial_dependence(
        data, result.top_features, seed, _within(progress, 0.85, 0.98)
    )
    results = result.to_dict()
    results["notes"] = [*data.notes, *results["notes"], *pdp_notes]
    results["partial_dependence"] = curves
    seconds = time.perf_counter() - started
    if progress is not None:
        progress(0.99, "Storing the evidence")
    stored = store_evidence(
        session=session,
        actor=actor,
        version=data.version,
        kind=EXPLANATION,
        inputs=data.inputs,
        config={"rows": rows, "seed": seed, "background": background, **_SETTINGS},
        results=results,
        status=_status(result),
        seconds=seconds,
    )
    session.commit()
    return stored


def submit_explanation(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    background: int = DEFAULT_BACKGROUND,
) -> Job:
    """Queue an explanation job for a version (or return the identical one already waiting).

    Checks the version and parameters now, so mistakes are reported to the person asking, not
    later in the job. Flushes in the caller's transaction; a worker runs the job.
    """
    require_role(session, actor, "compute evidence", *EVIDENCE_ROLES)
    problems = _parameter_problems(rows=rows, seed=seed, background=background)
    if session.get(ModelVersion, version_id) is None:
        problems.insert(0, UNKNOWN_VERSION.format(version_id=version_id))
    if problems:
        raise InputProblems(problems)
    return submit_job(
        session=session,
        actor=actor,
        kind=EXPLANATION,
        version_id=version_id,
        params={"rows": rows, "seed": seed, "background": background},
    )


def run_explanation_job(ctx: JobContext) -> int:
    """Job handler for kind "explanation": compute and store, return the evidence id.

    ``ctx.params`` may set rows, seed and background; progress goes to the job row.
    """
    params = dict(ctx.params)
    if unknown := sorted(set(params) - {"rows", "seed", "background"}):
        raise InputProblems([UNKNOWN_PARAMETERS.format(names=unknown)])
    if ctx.version_id is None:
        raise InputProblems(["An explanation job needs a model version."])
    with session_scope() as session:
        actor = ctx.actor(session)
        stored = compute_explanation(
            session=session,
            actor=actor,
            version_id=ctx.version_id,
            rows=params.get("rows", DEFAULT_ROWS),
            seed=params.get("seed", 0),
            background=params.get("background", DEFAULT_BACKGROUND),
            progress=ctx.progress,
        )
    return stored.id


def explanation_summary(stored: StoredEvidence) -> dict[str, Any]:
    """What the CLI prints: identity, explainer, additivity, stability and global importance."""
    results = stored.results
    provenance = results["provenance"]
    stability = results["stability"]
    return {
        "evidence_id": stored.id,
        "version_id": stored.version_id,
        "sha256": stored.sha256,
        "status": stored.status,
        "reproduced": stored.reproduced,
        "explainer": provenance["explainer"],
        "explainer_class": provenance["explainer_class"],
        "feature_perturbation": provenance["feature_perturbation"],
        "output_space": results["output_space"],
        "output_label": results["output_label"],
        "rows_explained": provenance["sample_size"],
        "rows_available": provenance["rows_available"],
        "background_size": provenance["background_size"],
        "seed": provenance["seed"],
        "sample_sha256": provenance["sample_sha256"],
        "additivity_max_error": results["additivity_max_error"],
        "additivity_tolerance": results["additivity_tolerance"],
        "global_importance": [
            {k: item[k] for k in ("feature", "rank", "mean_abs_shap", "ci_low", "ci_high")}
            for item in results["global_importance"]
        ],
        "stability": {
            k: stability[k] for k in ("method", "top_features", "kendall_tau", "min_kendall_tau")
        }
        | {"unstable_features": stability["unstable_features"]},
        "notes": results["notes"],
    }


def _outcome_name(version: ModelVersion) -> str:
    target = version.target.replace("_", " ")
    return f"{target} score" if version.task == "classification" else f"predicted {target}"


def search_rows(
    *, session: Session, version_id: int, text: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Rows of the version's evaluation data whose values contain every word of ``text``
    (case-insensitive), first ``limit`` of them, each with its row number for explain_decision."""
    version = get_version(session, version_id)
    frame, _ = load_evaluation_data(session, version)
    words = text.lower().split()
    if not words:
        return []
    cells = frame.astype(str).apply(lambda column: column.str.lower())
    joined = cells.apply(" ".join, axis=1)  # one string per row, so words may match any column
    match = pd.Series(True, index=frame.index)
    for word in words:
        match &= joined.str.contains(word, regex=False)
    positions = np.flatnonzero(match.to_numpy())[:limit]
    return [
        {"row": int(i), **{str(k): _plain_cell(v) for k, v in frame.iloc[i].items()}}
        for i in positions
    ]


def _plain_cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value


def explain_decision(
    *,
    session: Session,
    version_id: int,
    row_index: int | None = None,
    record: Mapping[str, Any] | None = None,
    seed: int = 0,
    background: int = DEFAULT_BACKGROUND,
) -> dict[str, Any]:
    """Why the version's model scored one applicant as it did, computed live.

    Give ``row_index`` (a row position in the evaluation data, from 0) or ``record`` (a
    what-if: every feature of the model mapped to a value). Returns the prediction, the
    waterfall contributions in the model's output space, the top three drivers as sentences
    ("Debt ratio 0.62 lowered the approved score the most.") and warnings for values outside
    the training range, which are explained but flagged, not refused. Plus ``row_index``,
    ``actual`` (the recorded label of that row, or None) and ``version_id``.
    """
    problems = _parameter_problems(seed=seed, background=background)
    if row_index is not None and record is not None:
        problems.append(ROW_AND_RECORD)
    elif row_index is None and record is None:
        problems.append(NO_ROW_OR_RECORD)
    if record is not None and not isinstance(record, Mapping):
        problems.append(NOT_A_RECORD.format(kind=type(record).__name__))
    if problems:
        raise InputProblems(problems)
    data = _load(session, version_id)
    version = data.version
    actual = None
    if row_index is not None:
        valid = isinstance(row_index, int | np.integer) and not isinstance(row_index, bool)
        if not valid or not 0 <= int(row_index) < len(data.X):
            raise InputProblems(
                [BAD_ROW.format(row=row_index, version=version.id, last=len(data.X) - 1)]
            )
        row: Any = data.X.iloc[int(row_index)]
        if data.y is not None:
            value = data.y.iloc[int(row_index)]
            actual = None if pd.isna(value) else value.item() if hasattr(value, "item") else value
    else:
        row = record
    # The global explanation's background comes from the training data; so does this one's.
    explanation = explain_row(
        model=data.model,
        row=row,
        X_background=data.X if data.X_train is None else data.X_train,
        X_train=data.X_train,
        seed=seed,
        background_size=background,
        outcome_name=_outcome_name(version),
    )
    return {
        "version_id": version.id,
        "row_index": None if row_index is None else int(row_index),
        "actual": actual,
        "target": version.target,
        **explanation.to_dict(),
    }

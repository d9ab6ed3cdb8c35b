"""Explaining a model globally: SHAP values of a sample, importance, summary, dependence, stability."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shap
import sklearn

from core.metrics.explain.checks import constant_notes, prepare
from core.metrics.explain.common import (
    ADDITIVITY_TOLERANCE,
    PERMUTATION,
    POINTS,
    SAMPLE_HASH_METHOD,
    TREE,
    Progress,
    check_parameters,
    class_name,
    column_cells,
    plain,
    report,
    sample_digest,
    seeded_rng,
    unwrap,
    whole_numbers,
)
from core.metrics.explain.explainers import RawShap
from core.metrics.explain.messages import (
    DROPPED_COLUMN_NOTE,
    NOT_STRATIFIED_NOTE,
    Y_LENGTH,
)
from core.metrics.explain.results import (
    DependenceData,
    ExplanationResult,
    FeatureImportance,
    FeaturePoints,
    Provenance,
    ShapValues,
    operating_range,
)
from core.metrics.explain.rows import additivity, explain_rows, finish_notes
from core.metrics.explain.summaries import (
    importance_table,
    sample_positions,
    stability_report,
    strata_of,
)


def compute_shap_values(
    *,
    model: Any,
    X: pd.DataFrame,
    X_background: pd.DataFrame | None = None,
    background_size: int = 100,
    seed: int = 0,
    max_evals: int = 500,
    progress: Progress | None = None,
) -> ShapValues:
    """SHAP values of every row of ``X`` in the model's input columns, checked for additivity.

    The lower layer of :func:`explain_model`, for callers that need the raw matrix (tests,
    custom charts). ``X_background`` (default: ``X``) is sampled to ``background_size`` rows
    with ``seed`` for the linear and permutation explainers; TreeSHAP does not use it.
    """
    model, positive_index = unwrap(model)
    problems = check_parameters(
        whole_numbers(
            background_size=(background_size, 1),
            seed=(seed, 0),
            max_evals=(max_evals, 3),
        )
    )
    X, given_pool, notes = prepare(
        model=model,
        X=X,
        X_name="the evaluation data X",
        other=X_background,
        other_name="the background data X_background",
        problems=problems,
    )
    pool = X if given_pool is None else given_pool
    pool_source = "the evaluation data" if given_pool is None else "the background data"
    plan, raw, background = explain_rows(
        model=model,
        X=X,
        rows_name="the evaluation data X",
        pool=pool,
        pool_source=pool_source,
        background_size=background_size,
        seed=seed,
        max_evals=max_evals,
        progress=progress,
        span=(0.05, 0.95),
        positive_index=positive_index,
    )
    report(progress, 1.0, "SHAP values done")
    error = float(np.max(np.abs(raw.base_value + raw.values.sum(axis=1) - raw.output)))
    uses_background = plan.kind != TREE
    return ShapValues(
        features=plan.features,
        values=raw.values,
        base_value=raw.base_value,
        model_output=raw.output,
        row_index=tuple(plain(list(X.index))),
        explainer=plan.kind,
        explainer_class=raw.explainer_class,
        feature_perturbation=raw.feature_perturbation,
        output_space=plan.output_space,
        output_label=plan.output_label,
        positive_class=plan.positive_class,
        background_size=len(background) if uses_background else None,
        background_source=pool_source if uses_background else None,
        max_evals=max_evals if plan.kind == PERMUTATION else None,
        additivity_max_error=error,
        notes=(*notes, *finish_notes(plan, len(background), max_evals)),
    )


def _summary(
    sample: pd.DataFrame,
    raw: RawShap,
    features: tuple[str, ...],
    importance: tuple[FeatureImportance, ...],
    max_points: int,
    seed: int,
) -> tuple[tuple[FeaturePoints, ...], pd.DataFrame]:
    """Beeswarm points of at most ``max_points`` seeded rows, by decreasing importance."""
    points = np.arange(len(sample))
    if len(sample) > max_points:
        points = np.sort(
            seeded_rng(seed, POINTS).choice(len(sample), size=max_points, replace=False)
        )
    shown = sample.iloc[points]
    position = {name: j for j, name in enumerate(features)}
    summary = tuple(
        FeaturePoints(
            feature=item.feature,
            shap_values=tuple(raw.values[points, position[item.feature]].tolist()),
            feature_values=column_cells(shown[item.feature]),
        )
        for item in importance
    )
    return summary, shown


def explain_model(
    *,
    model: Any,
    X: pd.DataFrame,
    y: Sequence[Any] | np.ndarray | pd.Series | None = None,
    X_train: pd.DataFrame | None = None,
    max_rows: int = 2000,
    background_size: int = 100,
    seed: int = 0,
    top_k: int = 10,
    n_boot: int = 200,
    max_points: int = 1000,
    stability_rows: int = 200,
    rank_tolerance: int = 2,
    max_evals: int = 500,
    progress: Progress | None = None,
) -> ExplanationResult:
    """Explain a model globally on a seeded, label-stratified sample of evaluation data.

    Parameters
    ----------
    model
        A fitted scikit-learn style binary classifier or regressor, or a Pipeline ending in one.
    X, y
        Evaluation data and, optionally, its labels (used only to stratify the sample).
    X_train
        Training data: the background for the linear and permutation explainers and the
        operating range shown on dependence charts. Without it, X serves for both.
    max_rows
        Rows explained at most; larger X is sampled (stratified by y) with ``seed``.
    background_size
        Rows in the background sample (linear and permutation explainers).
    top_k
        Features reported as "top" for dependence data and the stability check.
    n_boot
        Bootstrap resamples of the explained rows for the importance intervals.
    max_points
        Rows kept for beeswarm and dependence charts (a seeded subset of the sample).
    stability_rows
        Rows re-explained per stability run by the permutation explainer (its cost).
    rank_tolerance
        A top feature whose rank moves by more than this in a stability run is unstable.
    max_evals
        Model evaluations per row for the permutation explainer.
    progress
        Called as ``progress(fraction, message)`` for a progress bar.

    Returns
    -------
    ExplanationResult
        With the additivity check (base value + SHAP sum == model output within 1e-6 for
        every explained row) in ``additivity_max_error``; a larger error is in ``failures``.
    """
    model, positive_index = unwrap(model)
    report(progress, 0.0, "Checking inputs")
    problems = check_parameters(
        whole_numbers(
            max_rows=(max_rows, 1),
            background_size=(background_size, 1),
            seed=(seed, 0),
            top_k=(top_k, 1),
            n_boot=(n_boot, 0),
            max_points=(max_points, 1),
            stability_rows=(stability_rows, 2),
            rank_tolerance=(rank_tolerance, 0),
            max_evals=(max_evals, 3),
        )
    )
    labels = None
    if y is not None:
        labels = pd.Series(np.asarray(y)) if not isinstance(y, pd.Series) else y
        if isinstance(X, pd.DataFrame) and len(labels) != len(X):
            problems.append(Y_LENGTH.format(ny=len(labels), nx=len(X)))
    X, X_train, notes = prepare(
        model=model,
        X=X,
        X_name="the evaluation data X",
        other=X_train,
        other_name="the training data X_train",
        problems=problems,
    )
    notes += constant_notes(X)

    strata = None if labels is None else strata_of(labels.reset_index(drop=True))
    if labels is None and len(X) > max_rows:
        notes.append(NOT_STRATIFIED_NOTE.format(rows=len(X), max_rows=max_rows))
    sample = X.iloc[sample_positions(len(X), max_rows, strata, seed)]
    report(progress, 0.05, f"Explaining {len(sample)} of {len(X)} rows")

    pool = X if X_train is None else X_train
    pool_source = "the evaluation data" if X_train is None else "the training data"
    plan, raw, background = explain_rows(
        model=model,
        X=sample,
        rows_name="the evaluation data X",
        pool=pool,
        pool_source=pool_source,
        background_size=background_size,
        seed=seed,
        max_evals=max_evals,
        progress=progress,
        span=(0.1, 0.7),
        positive_index=positive_index,
    )
    notes += finish_notes(plan, len(background), max_evals)
    features = plan.features
    uses_background = plan.kind != TREE

    report(progress, 0.72, "Checking additivity")
    error, failures = additivity(plan, raw)
    if plan.preprocess is not None and plan.column_map is not None:
        for j in np.flatnonzero(plan.column_map.sum(axis=0) == 0):
            notes.append(DROPPED_COLUMN_NOTE.format(column=features[j]))

    report(progress, 0.75, "Global importance with bootstrap intervals")
    importance = importance_table(features, raw.values, n_boot, seed)

    report(progress, 0.8, "Stability across backgrounds and samples")
    stability = stability_report(
        plan=plan,
        raw=raw,
        sample=sample,
        pool=pool,
        background_size=background_size,
        seed=seed,
        top_k=top_k,
        rank_tolerance=rank_tolerance,
        stability_rows=stability_rows,
        max_evals=max_evals,
        progress=progress,
        notes=notes,
    )

    report(progress, 0.96, "Summary and dependence data")
    summary, shown = _summary(sample, raw, features, importance, max_points, seed)
    range_source = "training data" if X_train is not None else "evaluation data"
    dependence = tuple(
        DependenceData(
            feature=name,
            feature_values=next(s.feature_values for s in summary if s.feature == name),
            shap_values=next(s.shap_values for s in summary if s.feature == name),
            operating_range=operating_range(column=pool[name], source=range_source),
        )
        for name in stability.top_features
    )
    provenance = Provenance(
        explainer=plan.kind,
        explainer_class=raw.explainer_class,
        feature_perturbation=raw.feature_perturbation,
        model_class=(
            class_name(model)
            if plan.estimator is model
            else f"{class_name(model)}({class_name(plan.estimator)})"
        ),
        shap_version=shap.__version__,
        sklearn_version=sklearn.__version__,
        background_size=len(background) if uses_background else None,
        background_source=pool_source if uses_background else None,
        seed=seed,
        sample_size=len(sample),
        rows_available=len(X),
        stratified_by_label=strata is not None and len(X) > max_rows,
        sample_sha256=sample_digest(sample),
        sample_hash_method=SAMPLE_HASH_METHOD,
        output_space=plan.output_space,
        max_evals=max_evals if plan.kind == PERMUTATION else None,
    )
    report(progress, 1.0, "Done")
    return ExplanationResult(
        features=features,
        output_space=plan.output_space,
        output_label=plan.output_label,
        positive_class=plan.positive_class,
        base_value=raw.base_value,
        global_importance=importance,
        summary=summary,
        summary_row_index=tuple(plain(list(shown.index))),
        dependence=dependence,
        stability=stability,
        additivity_max_error=error,
        additivity_tolerance=ADDITIVITY_TOLERANCE,
        additivity_ok=not failures,
        provenance=provenance,
        sample_row_index=tuple(plain(list(sample.index))),
        notes=tuple(notes),
        failures=tuple(failures),
    )

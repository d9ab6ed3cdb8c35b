"""Explaining a set of rows, the step global explanations and single decisions share: plan
the explainer, check the model on the background and the rows, compute SHAP values, and
check their additivity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.metrics.explain.checks import model_features, try_model
from core.metrics.explain.common import (
    ADDITIVITY_TOLERANCE,
    PERMUTATION,
    ExplainInputError,
    Progress,
    class_name,
    report,
)
from core.metrics.explain.explainers import RawShap, run_explainer
from core.metrics.explain.messages import (
    ADDITIVITY_FAILURE,
    AGNOSTIC_NOTE,
    MODEL_FAILED,
    MODEL_FAILED_ON_ROWS,
)
from core.metrics.explain.plan import Plan, make_plan
from core.metrics.explain.summaries import background_sample

__all__ = ["additivity", "explain_rows", "finish_notes"]


def finish_notes(plan: Plan, background_rows: int, max_evals: int) -> list[str]:
    """The plan's notes, led by the model-agnostic note when the permutation explainer ran."""
    notes = list(plan.notes)
    if plan.agnostic and plan.kind == PERMUTATION:
        model = class_name(plan.estimator)
        notes.insert(
            0, AGNOSTIC_NOTE.format(model=model, max_evals=max_evals, background=background_rows)
        )
    return notes


def explain_rows(
    *,
    model: Any,
    X: pd.DataFrame,
    rows_name: str,
    pool: pd.DataFrame,
    pool_source: str,
    background_size: int,
    seed: int,
    max_evals: int,
    progress: Progress | None,
    span: tuple[float, float],
    positive_index: int | None,
) -> tuple[Plan, RawShap, pd.DataFrame]:
    """Plan, check the model on the background and on X, then compute the SHAP values."""
    background = background_sample(pool, background_size, seed)
    plan = make_plan(model, model_features(model, X), background.iloc[:5], positive_index)
    _, problems = try_model(
        model,
        background,
        message=MODEL_FAILED,
        source=pool_source,
        space=plan.output_space,
        class_index=plan.class_index,
    )
    output = None
    if not problems:
        output, problems = try_model(
            model,
            X,
            message=MODEL_FAILED_ON_ROWS,
            source=rows_name,
            space=plan.output_space,
            class_index=plan.class_index,
        )
    if problems or output is None:
        raise ExplainInputError(problems)
    report(progress, span[0], f"Computing SHAP values ({plan.kind} explainer)")
    plan, raw = run_explainer(
        plan, X, background, output, seed=seed, max_evals=max_evals, progress=progress, span=span
    )
    return plan, raw, background


def additivity(plan: Plan, raw: RawShap) -> tuple[float, list[str]]:
    """Largest |base value + sum of SHAP values - model output| over the rows, and the
    failure sentence when it is above ADDITIVITY_TOLERANCE."""
    error = float(np.max(np.abs(raw.base_value + raw.values.sum(axis=1) - raw.output)))
    if error <= ADDITIVITY_TOLERANCE:
        return error, []
    failure = ADDITIVITY_FAILURE.format(
        error=error, space=plan.output_space, tolerance=ADDITIVITY_TOLERANCE
    )
    return error, [failure]

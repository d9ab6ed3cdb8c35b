"""The three explainers: exact TreeSHAP, exact linear SHAP and shap's permutation explainer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shap
from threadpoolctl import threadpool_limits

from core.metrics.explain.columns import dense
from core.metrics.explain.common import (
    LINEAR,
    PERMUTATION_CHUNKS,
    TREE,
    TREE_CHUNKS,
    Progress,
    report,
)
from core.metrics.explain.plan import Plan, fallback, input_for, margin_sign, positive_output


@dataclass(frozen=True, eq=False)
class RawShap:
    values: np.ndarray  # (rows, input features)
    base_value: float
    output: np.ndarray  # the model's own output, one pass
    explainer_class: str
    feature_perturbation: str


def _transform(plan: Plan, X: pd.DataFrame) -> np.ndarray:
    if plan.preprocess is None:
        return dense(X.to_numpy())
    return dense(plan.preprocess.transform(X))


def _group(plan: Plan, values: np.ndarray) -> np.ndarray:
    assert plan.column_map is not None
    if plan.preprocess is None:
        return values
    return np.asarray(values @ plan.column_map)


def _tree_shap(
    plan: Plan,
    X: pd.DataFrame,
    output: np.ndarray,
    progress: Progress | None,
    span: tuple[float, float],
) -> RawShap:
    Z = _transform(plan, X)
    explainer = shap.TreeExplainer(
        plan.estimator, feature_perturbation="tree_path_dependent", model_output="raw"
    )
    chunks = np.array_split(np.arange(len(Z)), min(TREE_CHUNKS, len(Z)))
    parts = []
    for i, rows in enumerate(chunks):
        # Our own additivity check below runs against the estimator itself, not shap's copy.
        part = np.asarray(explainer.shap_values(Z[rows], check_additivity=False), dtype=float)
        if part.ndim == 3:
            part = part[:, :, plan.class_index]
        else:
            part = part * margin_sign(plan.model, plan.class_index)
        parts.append(part)
        report(progress, span[0] + (span[1] - span[0]) * (i + 1) / len(chunks), "TreeSHAP")
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    if expected.size > 1:
        base = float(expected[plan.class_index])
    else:
        base = margin_sign(plan.model, plan.class_index) * float(expected[0])
    return RawShap(
        values=_group(plan, np.concatenate(parts)),
        base_value=base,
        output=output,
        explainer_class="shap.TreeExplainer",
        feature_perturbation="tree_path_dependent",
    )


def _linear_shap(
    plan: Plan, X: pd.DataFrame, background: pd.DataFrame, output: np.ndarray
) -> RawShap:
    Z = _transform(plan, X)
    mean = _transform(plan, background).mean(axis=0)
    sign = margin_sign(plan.model, plan.class_index)
    coef = sign * np.asarray(plan.estimator.coef_, dtype=float).reshape(-1)
    intercept = sign * float(np.asarray(plan.estimator.intercept_, dtype=float).reshape(-1)[0])
    if coef.size != Z.shape[1]:
        raise ValueError(f"coef_ has {coef.size} values for {Z.shape[1]} transformed features")
    values = (Z - mean) * coef
    return RawShap(
        values=_group(plan, values),
        base_value=intercept + float(mean @ coef),
        output=output,
        explainer_class="exact linear SHAP: coef * (z - mean(background z)), as shap.LinearExplainer",
        feature_perturbation="interventional",
    )


def _codes(X: pd.DataFrame, background: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Integer codes per column over X and background, so shap masks any column type exactly.

    Masking only swaps whole values between a row and the background, so codes lose nothing:
    decoding gives back the original values with their original types.
    """
    both = pd.concat([X, background], axis=0, ignore_index=True)
    codes = np.empty(both.shape, dtype=float)
    lookups: list[Any] = []
    for j, name in enumerate(both.columns):
        column_codes, uniques = pd.factorize(both[name], use_na_sentinel=False)
        codes[:, j] = column_codes
        dtype = X[name].dtype
        plain = isinstance(dtype, np.dtype) and dtype.kind in "biuf"
        lookups.append(
            np.asarray(uniques, dtype=dtype) if isinstance(dtype, np.dtype) and plain else uniques
        )
    return codes[: len(X)], codes[len(X) :], lookups


def _decoder(X: pd.DataFrame, lookups: list[Any]) -> Callable[[np.ndarray], pd.DataFrame]:
    columns = list(X.columns)
    if all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in lookups):
        # Fast path for all-float data: one 2-D block, no per-column frames.
        def decode_floats(codes: np.ndarray) -> pd.DataFrame:
            index = codes.astype(np.intp)
            matrix = np.column_stack([lookups[j][index[:, j]] for j in range(len(columns))])
            return pd.DataFrame(matrix, columns=columns)

        return decode_floats

    def decode(codes: np.ndarray) -> pd.DataFrame:
        index = codes.astype(np.intp)
        return pd.DataFrame(
            {
                name: lookups[j][index[:, j]]
                if isinstance(lookups[j], np.ndarray)
                else lookups[j].take(index[:, j])
                for j, name in enumerate(columns)
            },
            columns=columns,
        )

    return decode


def _permutation_shap(
    plan: Plan,
    X: pd.DataFrame,
    background: pd.DataFrame,
    output: np.ndarray,
    *,
    seed: int,
    max_evals: int,
    progress: Progress | None,
    span: tuple[float, float],
) -> RawShap:
    x_codes, bg_codes, lookups = _codes(X, background)
    decode = _decoder(X, lookups)
    columns = list(X.columns)
    model_wants_frame = hasattr(plan.model, "feature_names_in_")

    def predict(codes: np.ndarray) -> np.ndarray:
        frame = decode(codes)
        model_input = frame if model_wants_frame else frame.to_numpy()
        return positive_output(plan.model, model_input, plan.output_space, plan.class_index)

    masker = shap.maskers.Independent(bg_codes, max_samples=len(bg_codes))
    # shap seeds numpy's global generator; restore it so callers' randomness is untouched.
    state = np.random.get_state()
    # The model is called thousands of times on small batches: OpenMP threads (histogram
    # gradient boosting) cost more than they give there, up to 30 times more on a busy machine
    # where they spin for a core. Their predictions are per row, so the numbers are the same.
    threads = threadpool_limits(limits=1, user_api="openmp")
    try:
        explainer = shap.explainers.Permutation(predict, masker, seed=seed)
        evals = max(max_evals, 2 * len(columns) + 1)
        chunks = np.array_split(np.arange(len(X)), min(PERMUTATION_CHUNKS, len(X)))
        values, bases = [], []
        for i, rows in enumerate(chunks):
            explanation = explainer(x_codes[rows], max_evals=evals, silent=True)
            values.append(np.asarray(explanation.values, dtype=float))
            bases.append(np.asarray(explanation.base_values, dtype=float).reshape(-1))
            report(
                progress,
                span[0] + (span[1] - span[0]) * (i + 1) / len(chunks),
                f"Permutation SHAP, {int(rows[-1]) + 1} of {len(X)} rows",
            )
    finally:
        threads.restore_original_limits()
        np.random.set_state(state)
    base = np.concatenate(bases)
    return RawShap(
        values=np.concatenate(values),
        base_value=float(base.mean()),
        output=output,
        explainer_class="shap.explainers.Permutation",
        feature_perturbation="interventional",
    )


def run_explainer(
    plan: Plan,
    X: pd.DataFrame,
    background: pd.DataFrame,
    output: np.ndarray,
    *,
    seed: int,
    max_evals: int,
    progress: Progress | None,
    span: tuple[float, float],
) -> tuple[Plan, RawShap]:
    """Explain X with the plan's explainer, falling back to permutation if SHAP refuses.

    ``output`` is the model's output on X in the plan's output space, computed once by the
    caller: the additivity check needs no further pass over the data.
    """
    if plan.kind in (TREE, LINEAR):
        try:
            if plan.kind == TREE:
                return plan, _tree_shap(plan, X, output, progress, span)
            return plan, _linear_shap(plan, X, background, output)
        except Exception as err:  # any refusal means: use the agnostic explainer
            space = plan.output_space
            plan = fallback(plan, err)
            if plan.output_space != space:
                model_input = input_for(plan.model, X)
                output = positive_output(
                    plan.model, model_input, plan.output_space, plan.class_index
                )
    raw = _permutation_shap(
        plan, X, background, output, seed=seed, max_evals=max_evals, progress=progress, span=span
    )
    return plan, raw

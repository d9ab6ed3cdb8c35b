"""Explaining one decision: a row of the evaluation data or a what-if typed by a user."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shap
from sklearn.base import is_classifier

from core.metrics.explain.checks import model_features, prepare
from core.metrics.explain.common import (
    TREE,
    ExplainInputError,
    check_parameters,
    class_name,
    feature_label,
    format_value,
    is_missing,
    is_numeric,
    plain_cell,
    unwrap,
    whole_numbers,
)
from core.metrics.explain.messages import (
    DRIVER,
    DRIVER_RANKS,
    EXTRA_COLUMNS_NOTE,
    OUTSIDE_RANGE,
    RANGE_FROM_BACKGROUND_NOTE,
    ROW_MISSING,
    ROW_NOT_A_NUMBER,
    ROW_NOT_A_ROW,
    ROW_UNKNOWN,
    UNSEEN_CATEGORY,
)
from core.metrics.explain.plan import input_for
from core.metrics.explain.results import (
    Contribution,
    DecisionExplanation,
    OperatingRange,
    operating_range,
)
from core.metrics.explain.rows import additivity, explain_rows, finish_notes


def _row_frame(
    row: Any, reference: pd.DataFrame, features: tuple[str, ...], notes: list[str]
) -> pd.DataFrame:
    """One-row DataFrame typed like ``reference``; every problem with the row is collected.

    Extra columns of a Series (a row of the evaluation data, with its identifiers) are left
    out with a note; extra keys of a mapping (a what-if typed by a user) are likely typos.
    """
    if isinstance(row, pd.Series):
        values = {str(k): v for k, v in row.items()}
        index = [row.name]
    elif isinstance(row, Mapping):
        values = {str(k): v for k, v in row.items()}
        index = [0]
    else:
        raise ExplainInputError([ROW_NOT_A_ROW.format(kind=class_name(row))])
    problems = []
    if missing := [f for f in features if f not in values]:
        problems.append(ROW_MISSING.format(missing=missing))
    if extra := [k for k in values if k not in features]:
        if isinstance(row, pd.Series):
            notes.append(EXTRA_COLUMNS_NOTE.format(extra=extra))
        else:
            problems.append(ROW_UNKNOWN.format(extra=extra))
    columns = {}
    for name in features:
        if name not in values:
            continue
        value = values[name]
        if is_numeric(reference[name]):
            if is_missing(value):
                number = math.nan
            else:
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    problems.append(ROW_NOT_A_NUMBER.format(column=name, value=value))
                    continue
            columns[name] = pd.Series([number], dtype=float)
        else:
            try:
                columns[name] = pd.Series([value], dtype=reference[name].dtype)
            except (TypeError, ValueError):
                columns[name] = pd.Series([value], dtype=object)
    if problems:
        raise ExplainInputError(problems)
    frame = pd.DataFrame({name: columns[name] for name in features})
    frame.index = pd.Index(index)
    return frame


def _contributions(
    values: np.ndarray,
    features: tuple[str, ...],
    cells: Mapping[str, float | str | None],
    inside: Mapping[str, bool],
) -> tuple[Contribution, ...]:
    """Waterfall bars by decreasing |SHAP value|."""
    order = np.argsort(-np.abs(values), kind="stable")
    return tuple(
        Contribution(
            feature=features[j],
            value=cells[features[j]],
            contribution=float(values[j]),
            direction="raised" if values[j] > 0 else "lowered" if values[j] < 0 else "none",
            inside_operating_range=inside[features[j]],
        )
        for j in order
    )


def _boundary_warnings(
    ranges: tuple[OperatingRange, ...],
    cells: Mapping[str, float | str | None],
    inside: Mapping[str, bool],
) -> tuple[str, ...]:
    """One sentence per value outside the training range or category not seen in training."""
    warnings = []
    for r in ranges:
        if inside[r.feature]:
            continue
        label, value = feature_label(r.feature), format_value(cells[r.feature])
        if r.kind == "numeric":
            warnings.append(
                OUTSIDE_RANGE.format(
                    label=label,
                    value=value,
                    low=format_value(r.minimum),
                    high=format_value(r.maximum),
                )
            )
        else:
            warnings.append(UNSEEN_CATEGORY.format(label=label, value=value))
    return tuple(warnings)


def explain_row(
    *,
    model: Any,
    row: Mapping[str, Any] | pd.Series,
    X_background: pd.DataFrame,
    X_train: pd.DataFrame | None = None,
    seed: int = 0,
    background_size: int = 100,
    max_evals: int = 500,
    outcome_name: str = "score",
) -> DecisionExplanation:
    """Explain one decision: a row of the evaluation data or a what-if typed by a user.

    Returns the prediction, base value, per-feature contributions sorted by size (waterfall
    data) and the top three drivers in plain language, e.g. "Debt ratio 0.62 raised the risk
    score the most." (``outcome_name="risk score"``). A value outside the training range
    (numeric outside [min, max], or a category not seen in training; ``X_train``, or
    ``X_background`` when not given) is explained but flagged as unreliable. Only single
    values are checked, not whether the combination of values was seen in training.
    """
    model, positive_index = unwrap(model)
    problems = check_parameters(
        whole_numbers(
            background_size=(background_size, 1),
            seed=(seed, 0),
            max_evals=(max_evals, 3),
        )
    )
    X_background, X_train, _ = prepare(
        model=model,
        X=X_background,
        X_name="the background data X_background",
        other=X_train,
        other_name="the training data X_train",
        problems=problems,
    )
    features = model_features(model, X_background)
    notes: list[str] = []
    frame = _row_frame(row, X_background, features, notes)
    plan, raw, background = explain_rows(
        model=model,
        X=frame,
        rows_name="the row",
        pool=X_background,
        pool_source="the background data",
        background_size=background_size,
        seed=seed,
        max_evals=max_evals,
        progress=None,
        span=(0.0, 1.0),
        positive_index=positive_index,
    )
    notes += finish_notes(plan, len(background), max_evals)
    error, failures = additivity(plan, raw)
    reference = X_background if X_train is None else X_train
    source = "training data" if X_train is not None else "background data"
    if X_train is None:
        notes.append(RANGE_FROM_BACKGROUND_NOTE.format(source="the background data"))
    ranges = tuple(operating_range(column=reference[name], source=source) for name in features)
    cells = {name: plain_cell(frame[name].iloc[0]) for name in features}
    inside = {r.feature: r.contains(cells[r.feature]) for r in ranges}

    contributions = _contributions(raw.values[0], features, cells, inside)
    drivers = tuple(
        DRIVER.format(
            label=feature_label(c.feature),
            value=format_value(c.value),
            verb=c.direction,
            outcome=outcome_name,
            rank=rank,
        )
        for c, rank in zip(
            [c for c in contributions if c.direction != "none"], DRIVER_RANKS, strict=False
        )
    )
    warnings = _boundary_warnings(ranges, cells, inside)
    probability = None
    if is_classifier(model) and hasattr(model, "predict_proba"):
        proba = model.predict_proba(input_for(model, frame))
        probability = float(np.asarray(proba, dtype=float)[0, plan.class_index])
    return DecisionExplanation(
        row=cells,
        prediction=float(raw.output[0]),
        probability=probability,
        base_value=raw.base_value,
        output_space=plan.output_space,
        output_label=plan.output_label,
        positive_class=plan.positive_class,
        contributions=contributions,
        drivers=drivers,
        outside_operating_range=tuple(r.feature for r in ranges if not inside[r.feature]),
        boundary_warnings=warnings,
        operating_ranges=ranges,
        explainer=plan.kind,
        explainer_class=raw.explainer_class,
        feature_perturbation=raw.feature_perturbation,
        shap_version=shap.__version__,
        background_size=len(background) if plan.kind != TREE else None,
        seed=seed,
        additivity_error=error,
        notes=tuple(notes),
        failures=tuple(failures),
    )

"""Partial dependence and ICE curves, with the training range marked for the UI.

A thin, checked wrapper around :func:`sklearn.inspection.partial_dependence` with
``kind="both"``: the average curve over a seeded sample of evaluation rows, and individual
(ICE) curves for a few of them. Each result records the feature's operating range in the
training data (min/max and 5th/95th percentiles, or the categories seen) and which grid
points fall outside it, where the curve shows what the model extrapolates, not what it
learned. Curves show association with the model's output, not causation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.inspection import partial_dependence

from core.metrics.explain.checks import prepare
from core.metrics.explain.common import (
    PROBABILITY,
    RAW,
    ExplainInputError,
    ToDict,
    check_parameters,
    is_numeric,
    plain,
    plain_cell,
    seeded_rng,
    unwrap,
    whole_numbers,
)
from core.metrics.explain.results import OperatingRange, operating_range

__all__ = ["PartialDependenceResult", "partial_dependence_curves"]

UNKNOWN_FEATURES = (
    "Features asked for partial dependence are not input columns of the model: {unknown}; "
    "choose from {known}."
)
NO_FEATURES = "No features were given for partial dependence; pass at least one column name."
CURVE_FAILED = (
    "Partial dependence for feature {feature!r} failed; scikit-learn said: {error}. "
    "Check that the column has the type the model was trained on."
)

_SAMPLE, _ICE = 10, 11  # seed streams, distinct from those of explain.py


@dataclass(frozen=True)
class PartialDependenceResult(ToDict):
    """Average (PD) and individual (ICE) curves of one feature over a grid of its values.

    ``individual[i]`` is the curve of the row ``ice_row_index[i]``; ``grid_inside_range[k]``
    is False where grid point ``k`` lies outside ``operating_range``.
    """

    feature: str
    kind: str
    grid: tuple[float | str | None, ...]
    average: tuple[float, ...]
    individual: tuple[tuple[float, ...], ...]
    ice_row_index: tuple[Any, ...]
    output_space: str
    output_label: str
    positive_class: Any
    n_rows: int
    seed: int
    operating_range: OperatingRange
    grid_inside_range: tuple[bool, ...]


def _response(model: Any, positive_index: int | None) -> tuple[str, str, str, Any]:
    """scikit-learn response method, output space, chart label and positive class."""
    if not is_classifier(model):
        return "predict", RAW, "model output (model.predict)", None
    index = len(model.classes_) - 1 if positive_index is None else positive_index
    positive = plain(model.classes_[index])
    if hasattr(model, "predict_proba"):
        label = f"probability of class {positive!r} (model.predict_proba)"
        return "predict_proba", PROBABILITY, label, positive
    label = f"decision score for class {positive!r} (model.decision_function)"
    return "decision_function", RAW, label, positive


def _towards_positive(values: np.ndarray, method: str, flip: bool) -> np.ndarray:
    """scikit-learn's binary curves speak of ``classes_[1]``; turn them to ``classes_[0]``."""
    if not flip:
        return values
    return 1.0 - values if method == "predict_proba" else -values


def _float_integers(frame: pd.DataFrame) -> pd.DataFrame:
    ints = [
        c
        for c in frame.columns
        if pd.api.types.is_integer_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    return frame.astype({c: float for c in ints}) if ints else frame


def partial_dependence_curves(
    *,
    model: Any,
    X: pd.DataFrame,
    features: Sequence[str],
    X_train: pd.DataFrame | None = None,
    grid_resolution: int = 20,
    ice_rows: int = 50,
    max_rows: int = 1000,
    seed: int = 0,
) -> list[PartialDependenceResult]:
    """Partial dependence and ICE curves for ``features`` (typically the top SHAP features).

    Parameters
    ----------
    X
        Evaluation rows; at most ``max_rows`` of them (a seeded sample) are averaged over.
    X_train
        Training data, whose range marks the model's operating boundaries. Without it the
        range of X is recorded, and ``operating_range.source`` says so.
    grid_resolution
        Grid points per numeric feature, between its 5th and 95th percentiles in X (the
        scikit-learn default); categorical features use every category of X.
    ice_rows
        Individual curves kept, for rows drawn with ``seed`` from the averaged sample.

    Returns
    -------
    list[PartialDependenceResult]
        One per feature, in the order given; values in ``output_space`` (the positive-class
        probability for classifiers with ``predict_proba``, else the raw output).
    """
    model, positive_index = unwrap(model)
    problems = check_parameters(
        whole_numbers(
            grid_resolution=(grid_resolution, 2),
            ice_rows=(ice_rows, 0),
            max_rows=(max_rows, 1),
            seed=(seed, 0),
        )
    )
    features = [str(f) for f in ([features] if isinstance(features, str) else features)]
    if not features:
        problems.append(NO_FEATURES)
    if isinstance(X, pd.DataFrame):
        known = [str(c) for c in getattr(model, "feature_names_in_", X.columns)]
        if unknown := [f for f in features if f not in known]:
            problems.append(UNKNOWN_FEATURES.format(unknown=unknown, known=known))
    X, X_train, _ = prepare(
        model=model,
        X=X,
        X_name="the evaluation data X",
        other=X_train,
        other_name="the training data X_train",
        problems=problems,
    )
    # scikit-learn's partial_dependence refuses integer columns (its grid would be rounded);
    # as floats they take the same values, and the curve can pass between them.
    X = _float_integers(X)
    X_train = None if X_train is None else _float_integers(X_train)
    sample = X
    if len(X) > max_rows:
        positions = seeded_rng(seed, _SAMPLE).choice(len(X), size=max_rows, replace=False)
        sample = X.iloc[np.sort(positions)]
    ice = np.sort(
        seeded_rng(seed, _ICE).choice(len(sample), size=min(ice_rows, len(sample)), replace=False)
    )
    reference = X if X_train is None else X_train
    source = "evaluation data" if X_train is None else "training data"
    method, space, label, positive = _response(model, positive_index)
    flip = is_classifier(model) and len(model.classes_) == 2 and positive_index == 0

    results, problems = [], []
    for feature in features:
        categorical = not is_numeric(sample[feature])
        try:
            curves = partial_dependence(
                model,
                sample,
                [feature],
                categorical_features=[feature] if categorical else None,
                response_method=method,
                grid_resolution=grid_resolution,
                kind="both",
            )
        except Exception as err:  # scikit-learn's own words go to the user
            problems.append(CURVE_FAILED.format(feature=feature, error=" ".join(str(err).split())))
            continue
        grid = tuple(plain_cell(v) for v in curves["grid_values"][0])
        average = _towards_positive(curves["average"][0], method, flip)
        individual = _towards_positive(curves["individual"][0][ice], method, flip)
        limits = operating_range(column=reference[feature], source=source)
        results.append(
            PartialDependenceResult(
                feature=feature,
                kind="categorical" if categorical else "numeric",
                grid=grid,
                average=tuple(float(v) for v in average),
                individual=tuple(tuple(float(v) for v in curve) for curve in individual),
                ice_row_index=tuple(plain(list(sample.index[ice]))),
                output_space=space,
                output_label=label,
                positive_class=positive,
                n_rows=len(sample),
                seed=seed,
                operating_range=limits,
                grid_inside_range=tuple(limits.contains(v) for v in grid),
            )
        )
    if problems:
        raise ExplainInputError(problems)
    return results

"""Choosing how to explain a model: the explainer, the output space and the positive class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import ensemble, linear_model, svm, tree
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from core.metrics.explain.columns import column_map_of, dense, first_unmappable
from core.metrics.explain.common import (
    LINEAR,
    LOG_ODDS,
    PERMUTATION,
    PROBABILITY,
    RAW,
    TREE,
    class_name,
    plain,
)
from core.metrics.explain.messages import FALLBACK_NOTE, LOG_LINK_NOTE, UNMAPPED_NOTE

_TREE_CLASSES: tuple[type, ...] = (
    tree.DecisionTreeClassifier,
    tree.DecisionTreeRegressor,
    tree.ExtraTreeClassifier,
    tree.ExtraTreeRegressor,
    ensemble.RandomForestClassifier,
    ensemble.RandomForestRegressor,
    ensemble.ExtraTreesClassifier,
    ensemble.ExtraTreesRegressor,
    ensemble.GradientBoostingClassifier,
    ensemble.GradientBoostingRegressor,
    ensemble.HistGradientBoostingClassifier,
    ensemble.HistGradientBoostingRegressor,
)


_TREE_MARGIN_CLASSES: tuple[type, ...] = (
    ensemble.GradientBoostingClassifier,
    ensemble.HistGradientBoostingClassifier,
)


# Only used when the packages are installed; matched by module so they are never imported here.
_BOOSTER_CLASSES = {
    ("lightgbm", "LGBMClassifier"),
    ("lightgbm", "LGBMRegressor"),
    ("xgboost", "XGBClassifier"),
    ("xgboost", "XGBRegressor"),
}


_LINEAR_CLASSES: tuple[type, ...] = (
    linear_model.LogisticRegression,
    linear_model.LogisticRegressionCV,
    linear_model.RidgeClassifier,
    linear_model.RidgeClassifierCV,
    linear_model.SGDClassifier,
    linear_model.LinearRegression,
    linear_model.Ridge,
    linear_model.RidgeCV,
    linear_model.Lasso,
    linear_model.LassoCV,
    linear_model.ElasticNet,
    linear_model.ElasticNetCV,
    linear_model.SGDRegressor,
    linear_model.HuberRegressor,
    linear_model.BayesianRidge,
    svm.LinearSVC,
    svm.LinearSVR,
)


@dataclass(frozen=True, eq=False)
class Plan:
    kind: str
    model: Any
    estimator: Any
    preprocess: Any | None
    column_map: np.ndarray | None  # (transformed features, input features), 0/1
    features: tuple[str, ...]
    output_space: str
    output_label: str
    positive_class: Any
    class_index: int | None
    notes: tuple[str, ...]
    agnostic: bool = False


def _final_estimator(model: Any) -> tuple[Any, Any | None]:
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model.steps[-1][1], model[:-1]
    if isinstance(model, Pipeline):
        return model.steps[-1][1], None
    return model, None


def _is_booster(estimator: Any) -> bool:
    module = type(estimator).__module__.split(".")[0]
    return (module, type(estimator).__name__) in _BOOSTER_CLASSES


def input_for(model: Any, X: pd.DataFrame) -> Any:
    # Estimators fitted without column names warn when given a DataFrame, and vice versa.
    return X if hasattr(model, "feature_names_in_") else X.to_numpy()


def margin_sign(model: Any, class_index: int | None) -> float:
    """-1 when the positive class is ``classes_[0]`` of a binary model: margins (decision
    function, log-odds, raw boosting scores) speak of ``classes_[1]``."""
    binary = is_classifier(model) and len(model.classes_) == 2
    return -1.0 if binary and class_index == 0 else 1.0


def positive_output(model: Any, data: Any, space: str, class_index: int | None) -> np.ndarray:
    """The model's output in ``space``: the number the SHAP values add up to."""
    if space == PROBABILITY:
        return np.asarray(model.predict_proba(data), dtype=float)[:, class_index]
    return margin_sign(model, class_index) * _margin(model, data, space)


def _margin(model: Any, data: Any, space: str) -> np.ndarray:
    if is_classifier(model) or space == LOG_ODDS:
        estimator, _ = _final_estimator(model)
        if _is_booster(estimator):
            keyword = (
                "raw_score"
                if type(estimator).__module__.startswith("lightgbm")
                else ("output_margin")
            )
            return np.asarray(model.predict(data, **{keyword: True}), dtype=float).ravel()
        if hasattr(model, "decision_function"):
            return np.asarray(model.decision_function(data), dtype=float).ravel()
    return np.asarray(model.predict(data), dtype=float).ravel()


def _output_space(
    model: Any, estimator: Any, kind: str, positive_index: int | None
) -> tuple[str, str, Any, int | None]:
    """Output space, chart label, positive class and its column in predict_proba."""
    if not is_classifier(model):
        return RAW, "model output (model.predict)", None, None
    classes = list(model.classes_)
    index = len(classes) - 1 if positive_index is None else positive_index
    positive_plain = plain(classes[index])
    if (
        kind == TREE
        and not isinstance(estimator, _TREE_MARGIN_CLASSES)
        and not _is_booster(estimator)
    ):
        space = PROBABILITY
    elif kind in (TREE, LINEAR):
        log_loss = getattr(estimator, "loss", "log_loss") == "log_loss"
        logistic = isinstance(
            estimator, linear_model.LogisticRegression | linear_model.LogisticRegressionCV
        )
        space = LOG_ODDS if (kind == TREE and log_loss) or logistic else RAW
        if kind == LINEAR and isinstance(estimator, linear_model.SGDClassifier):
            space = LOG_ODDS if estimator.loss == "log_loss" else RAW
    else:
        space = PROBABILITY if hasattr(model, "predict_proba") else RAW
    labels = {
        LOG_ODDS: f"log-odds of class {positive_plain!r} (model.decision_function)",
        PROBABILITY: f"probability of class {positive_plain!r} (model.predict_proba)",
        RAW: f"decision score for class {positive_plain!r} (model.decision_function)",
    }
    return space, labels[space], positive_plain, index


def make_plan(
    model: Any, features: tuple[str, ...], probe: pd.DataFrame, positive_index: int | None
) -> Plan:
    """Choose the explainer for ``model``; ``probe`` is a few rows to try the mapping on."""
    estimator, preprocess = _final_estimator(model)
    notes: list[str] = []
    kind = PERMUTATION
    if isinstance(estimator, _TREE_CLASSES) or _is_booster(estimator):
        kind = TREE
        loss = getattr(estimator, "loss", None)
        if isinstance(estimator, ensemble.HistGradientBoostingRegressor) and loss in (
            "poisson",
            "gamma",
        ):
            notes.append(LOG_LINK_NOTE.format(model=class_name(estimator), loss=loss))
            kind = PERMUTATION
    elif isinstance(estimator, _LINEAR_CLASSES):
        kind = LINEAR
    column_map = None
    if kind != PERMUTATION:
        if preprocess is None:
            column_map = np.eye(len(features))
        else:
            column_map = column_map_of(preprocess, len(features))
            if column_map is not None:
                try:
                    width = dense(preprocess.transform(probe)).shape[1]
                except Exception:  # the model's own check reports it later
                    width = -1
                if width != column_map.shape[0]:
                    column_map = None
            if column_map is None:
                notes.append(UNMAPPED_NOTE.format(step=first_unmappable(preprocess)))
                kind = PERMUTATION
    space, label, positive, index = _output_space(model, estimator, kind, positive_index)
    return Plan(
        kind=kind,
        model=model,
        estimator=estimator,
        preprocess=preprocess,
        column_map=column_map,
        features=features,
        output_space=space,
        output_label=label,
        positive_class=positive,
        class_index=index,
        notes=tuple(notes),
        agnostic=not isinstance(estimator, (*_TREE_CLASSES, *_LINEAR_CLASSES))
        and not _is_booster(estimator),
    )


def fallback(plan: Plan, error: Exception) -> Plan:
    note = FALLBACK_NOTE.format(
        kind=plan.kind, model=class_name(plan.estimator), error=str(error).strip()[:300]
    )
    space, label, positive, index = _output_space(
        plan.model, plan.estimator, PERMUTATION, plan.class_index
    )
    return Plan(
        kind=PERMUTATION,
        model=plan.model,
        estimator=plan.estimator,
        preprocess=plan.preprocess,
        column_map=None,
        features=plan.features,
        output_space=space,
        output_label=label,
        positive_class=positive,
        class_index=index,
        notes=(*plan.notes, note),
    )

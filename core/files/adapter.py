"""The model adapter: what every kind of evidence asks of a registered model, decided once.

Performance, fairness, explanations, partial dependence and the one-decision view all read a
model through one :class:`ModelAdapter`, so they cannot disagree about:

- the feature columns the model takes, in its order;
- THE positive class: the registered positive label matched against ``model.classes_``
  (numeric equality when a class is a number, so "1", 1 and 1.0 name the same class; exact
  text otherwise); without a registered label, ``classes_[1]`` of a binary model (the class
  scikit-learn's ``predict_proba`` column 1, ``decision_function`` and ``partial_dependence``
  speak of) and the last class of any other;
- the output space of its scores: the probability of the positive class
  (``predict_proba``), the decision function turned towards the positive class, or the
  regression value;
- labels as plain Python values (``'good'``, ``1``), never numpy scalars.

Recorded outcomes (the target column) are read as the model's classes with the same matching
rule; a missing outcome, or a label the model does not know, is refused with the values found.

The metrics in ``core.metrics`` take the adapter as it is (they ask it for ``estimator`` and
``positive_index`` only), so the rule lives here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier

from core.errors import InputProblems

__all__ = [
    "BAD_POSITIVE",
    "DECISION_FUNCTION",
    "PROBABILITY",
    "REGRESSION",
    "TARGET_MISSING",
    "TARGET_MORE_CLASSES",
    "TARGET_UNKNOWN",
    "ModelAdapter",
    "adapt",
    "plain_label",
    "positive_index",
    "registered_positive_label",
]

# Output spaces of ModelAdapter.scores.
PROBABILITY = "probability"
DECISION_FUNCTION = "decision_function"
REGRESSION = "regression"

BAD_POSITIVE = (
    "The positive label {label!r} is not one of the model's classes {classes}; "
    "give one of them with --positive-label."
)
TARGET_MISSING = (
    "Target column {target!r} has {count} missing values; every row needs its recorded "
    "outcome, so fill them in or drop those rows."
)
TARGET_MORE_CLASSES = (
    "Target column {target!r} has {count} distinct values {found} but the model has "
    "{n} classes {classes}; evaluate it on data labelled with the model's classes."
)
TARGET_UNKNOWN = (
    "Target column {target!r} holds labels the model does not know: {unknown} (values "
    "found: {found}); the model's classes are {classes}, so label the data with them."
)
_SHOWN = 10  # distinct values named in a sentence at most


def plain_label(value: Any) -> Any:
    """A label as plain Python: numpy scalars to int, float, bool or str."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return str(value)  # np.str_ is a str subclass whose repr is np.str_('good')
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating | np.bool_) and not (
        isinstance(value, float | np.floating) and math.isnan(value)
    )


def _same_label(value: Any, cls: Any) -> bool:
    """THE matching rule: numeric equality when the class is a number, exact text otherwise."""
    if _is_number(cls):
        if isinstance(value, str):
            try:
                return float(value.strip()) == float(cls)
            except ValueError:
                return False
        return _is_number(value) and float(value) == float(cls)
    return isinstance(value, str) and isinstance(cls, str) and value == cls


def positive_index(classes: Sequence[Any], label: Any | None) -> int | None:
    """Position in ``classes`` of the positive class; None when ``label`` matches none.

    Without a label: 1 for two classes (``classes_[1]``), the last position otherwise.
    """
    if len(classes) == 0:
        return None
    if label is None:
        return 1 if len(classes) == 2 else len(classes) - 1
    return next((i for i, c in enumerate(classes) if _same_label(label, c)), None)


def _classes(estimator: Any) -> tuple[Any, ...]:
    if not is_classifier(estimator):
        return ()
    return tuple(plain_label(c) for c in getattr(estimator, "classes_", ()))


def registered_positive_label(estimator: Any, label: str | None) -> tuple[str | None, list[str]]:
    """The positive label to store at registration (the class's own text), or the problem.

    Regressors have none. A label given as "1.0" for the class 1 is stored as "1".
    """
    classes = _classes(estimator)
    if not classes:
        return None, []
    index = positive_index(classes, label)
    if index is None:
        return label, [BAD_POSITIVE.format(label=label, classes=list(classes))]
    return str(classes[index]), []


def _shown(values: Iterable[Any]) -> list[Any]:
    items = list(values)
    try:
        items = sorted(items)
    except TypeError:  # mixed numbers and text
        items = sorted(items, key=str)
    return items[:_SHOWN]


@dataclass(frozen=True, eq=False)
class ModelAdapter:
    """A fitted model as every kind of evidence sees it; build one with :func:`adapt`.

    ``classes`` are plain Python labels; ``positive_index`` is the positive class's position
    in them (None for a regressor).
    """

    estimator: Any
    features: tuple[str, ...]
    classes: tuple[Any, ...]
    positive_index: int | None

    @property
    def task(self) -> str:
        """ "classification" or "regression"."""
        return "classification" if self.classes else "regression"

    @property
    def positive_class(self) -> Any:
        """The positive class as a plain label, or None for a regressor."""
        return None if self.positive_index is None else self.classes[self.positive_index]

    @property
    def negative_class(self) -> Any:
        """The other class of a binary model, or None."""
        if len(self.classes) != 2 or self.positive_index is None:
            return None
        return self.classes[1 - self.positive_index]

    @property
    def output_space(self) -> str:
        """What :meth:`scores` returns: PROBABILITY, DECISION_FUNCTION or REGRESSION."""
        if not self.classes:
            return REGRESSION
        if hasattr(self.estimator, "predict_proba"):
            return PROBABILITY
        return DECISION_FUNCTION if hasattr(self.estimator, "decision_function") else ""

    def frame(self, data: pd.DataFrame) -> pd.DataFrame:
        """The columns of ``data`` the model takes, in its order."""
        return data[list(self.features)]

    def scores(self, X: pd.DataFrame) -> np.ndarray:
        """The model's scores of the rows of ``X`` in :attr:`output_space`, as floats.

        The positive-class column of ``predict_proba``; or ``decision_function``, negated
        when the positive class is ``classes_[0]`` of a binary model; or ``predict``.
        """
        space = self.output_space
        if space == PROBABILITY:
            proba = np.asarray(self.estimator.predict_proba(X), dtype=float)
            return np.asarray(proba[:, self.positive_index])
        if space == DECISION_FUNCTION:
            values = np.asarray(self.estimator.decision_function(X), dtype=float)
            if values.ndim == 2:
                return np.asarray(values[:, self.positive_index])
            return values if self.positive_index == len(self.classes) - 1 else -values
        return np.asarray(self.estimator.predict(X), dtype=float).ravel()

    def predicted_labels(self, X: pd.DataFrame) -> np.ndarray:
        """``predict`` of the rows of ``X``: the model's classes, as the classes are typed."""
        return np.asarray(self.estimator.predict(X))

    def decisions(self, scores: np.ndarray, threshold: float) -> np.ndarray:
        """The positive class where ``scores >= threshold``, else the other class (binary)."""
        labels = np.asarray(self.estimator.classes_)
        assert self.positive_index is not None and len(labels) == 2
        chosen: np.ndarray = np.where(
            scores >= threshold, labels[self.positive_index], labels[1 - self.positive_index]
        )
        return chosen

    def target_problems(self, values: pd.Series, *, target: str) -> list[str]:
        """Why ``values`` (recorded outcomes) cannot be read as the model's classes, if so."""
        _, problems = self._target_positions(values, target=target)
        return problems

    def target_labels(self, values: pd.Series, *, target: str) -> np.ndarray:
        """Recorded outcomes as the model's own classes (typed like ``classes_``).

        Raises InputProblems when a value is missing or matches none of the classes, naming
        the values found.
        """
        positions, problems = self._target_positions(values, target=target)
        if problems:
            raise InputProblems(problems)
        labels: np.ndarray = np.asarray(self.estimator.classes_)[positions]
        return labels

    def _target_positions(self, values: pd.Series, *, target: str) -> tuple[np.ndarray, list[str]]:
        missing = int(values.isna().sum())
        problems = [TARGET_MISSING.format(target=target, count=missing)] if missing else []
        found = [plain_label(v) for v in pd.unique(values.dropna())]
        mapping: dict[Any, int] = {}
        unknown = []
        for value in found:
            index = next((i for i, c in enumerate(self.classes) if _same_label(value, c)), None)
            if index is None:
                unknown.append(value)
            else:
                mapping[value] = index
        classes = list(self.classes)
        if len(found) > len(classes):
            problems.append(
                TARGET_MORE_CLASSES.format(
                    target=target,
                    count=len(found),
                    found=_shown(found),
                    n=len(classes),
                    classes=classes,
                )
            )
        elif unknown:
            problems.append(
                TARGET_UNKNOWN.format(
                    target=target, unknown=_shown(unknown), found=_shown(found), classes=classes
                )
            )
        if problems:
            return np.empty(0, dtype=np.intp), problems
        positions = values.map(mapping).to_numpy(dtype=np.intp)
        return positions, []


def adapt(
    estimator: Any, *, features: Sequence[str] | None = None, positive_label: Any | None = None
) -> ModelAdapter:
    """The adapter of a fitted model, with THE positive-class rule applied.

    Parameters
    ----------
    features
        The registered feature columns; default ``feature_names_in_`` (none when the model was
        fitted without column names and none are given).
    positive_label
        The registered positive label (text or a class value); default ``classes_[1]`` of a
        binary model. Raises InputProblems when it is none of the model's classes.
    """
    classes = _classes(estimator)
    index = positive_index(classes, positive_label)
    if classes and index is None:
        raise InputProblems([BAD_POSITIVE.format(label=positive_label, classes=list(classes))])
    if features is None:
        features = [str(c) for c in getattr(estimator, "feature_names_in_", ())]
    return ModelAdapter(
        estimator=estimator,
        features=tuple(str(f) for f in features),
        classes=classes,
        positive_index=index,
    )

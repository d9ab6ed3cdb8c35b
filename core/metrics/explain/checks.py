"""Checking the model and the data before explaining; every problem collected at once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from core.metrics.explain.common import (
    ExplainInputError,
    class_name,
    format_value,
    is_numeric,
    plain,
)
from core.metrics.explain.messages import (
    ALL_MISSING,
    CONSTANT_NOTE,
    EXTRA_COLUMNS_NOTE,
    MISSING_COLUMNS,
    MULTICLASS,
    NO_ROWS,
    NOT_A_DATAFRAME,
    NOT_A_MODEL,
    NOT_FITTED,
    TEXT_COLUMN,
    WRONG_COLUMN_COUNT,
)
from core.metrics.explain.plan import input_for, positive_output


def _model_problems(model: Any) -> list[str]:
    if not hasattr(model, "predict"):
        return [NOT_A_MODEL.format(kind=class_name(model))]
    try:
        check_is_fitted(model)
    except NotFittedError as err:
        return [NOT_FITTED.format(error=str(err).split(".")[0])]
    except TypeError as err:
        return [NOT_A_MODEL.format(kind=f"{class_name(model)} ({err})")]
    if is_classifier(model) and len(model.classes_) != 2:
        classes = [plain(c) for c in model.classes_]
        return [MULTICLASS.format(n=len(classes), classes=classes)]
    return []


def model_features(model: Any, X: pd.DataFrame) -> tuple[str, ...]:
    if hasattr(model, "feature_names_in_"):
        return tuple(str(c) for c in model.feature_names_in_)
    return tuple(str(c) for c in X.columns)


def _frame_problems(model: Any, frame: Any, name: str, notes: list[str] | None) -> list[str]:
    """Problems with one DataFrame: type, rows, columns, empty columns."""
    if not isinstance(frame, pd.DataFrame):
        return [NOT_A_DATAFRAME.format(name=name, kind=class_name(frame))]
    problems = []
    if len(frame) == 0:
        problems.append(NO_ROWS.format(name=name))
    if hasattr(model, "feature_names_in_"):
        expected = [str(c) for c in model.feature_names_in_]
        present = {str(c) for c in frame.columns}
        if missing := [c for c in expected if c not in present]:
            problems.append(MISSING_COLUMNS.format(name=name, missing=missing))
        if notes is not None and (
            extra := [str(c) for c in frame.columns if str(c) not in expected]
        ):
            notes.append(EXTRA_COLUMNS_NOTE.format(extra=extra))
    elif hasattr(model, "n_features_in_") and frame.shape[1] != model.n_features_in_:
        problems.append(
            WRONG_COLUMN_COUNT.format(
                name=name, found=frame.shape[1], expected=model.n_features_in_
            )
        )
    if len(frame):
        for column in frame.columns:
            if frame[column].isna().all():
                problems.append(ALL_MISSING.format(column=str(column), name=name, n=len(frame)))
    return problems


def _select(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    if hasattr(model, "feature_names_in_"):
        renamed = frame.rename(columns=str)
        return renamed[[str(c) for c in model.feature_names_in_]]
    return frame.rename(columns=str)


def _text_example(column: pd.Series) -> str | None:
    """A value of a non-numeric column that does not read as a number, if any."""
    if is_numeric(column) or pd.api.types.is_bool_dtype(column):
        return None
    for value in column.dropna().unique()[:50]:
        try:
            float(value)
        except (TypeError, ValueError):
            return str(value)
    return None


def try_model(
    plan_model: Any,
    frame: pd.DataFrame,
    *,
    message: str,
    source: str,
    space: str,
    class_index: int | None,
) -> tuple[np.ndarray | None, list[str]]:
    """The model's output on ``frame``, or problem sentences carrying the model's error."""
    try:
        return positive_output(plan_model, input_for(plan_model, frame), space, class_index), []
    except Exception as err:  # the model's own words go to the user
        error = " ".join(str(err).split())[:400] or class_name(err)
        texts = [
            TEXT_COLUMN.format(column=str(c), name=source, example=example, error=error)
            for c in frame.columns
            if (example := _text_example(frame[c])) is not None
        ]
        if texts:
            return None, texts
        return None, [message.format(rows=len(frame), source=source, name=source, error=error)]


def constant_notes(X: pd.DataFrame) -> list[str]:
    notes = []
    for column in X.columns:
        values = X[column].dropna()
        if len(values) and values.nunique() == 1:
            notes.append(CONSTANT_NOTE.format(column=column, value=format_value(values.iloc[0])))
    return notes


def prepare(
    *,
    model: Any,
    X: Any,
    X_name: str,
    other: Any,
    other_name: str,
    problems: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Check the model, the data X and an optional other frame; raise every problem at once.

    Returns both frames cut to the model's feature columns, and notes about X.
    """
    notes: list[str] = []
    problems = [*problems, *_model_problems(model)]
    problems += _frame_problems(model, X, X_name, notes)
    if other is not None:
        problems += _frame_problems(model, other, other_name, None)
    if problems:
        raise ExplainInputError(problems)
    return _select(model, X), None if other is None else _select(model, other), notes

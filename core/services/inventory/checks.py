"""Registration's checks of its input: the data files, and the model against the evaluation data.

Each check appends one sentence per problem to ``problems``, so every problem is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import is_classifier
from sqlmodel import Session

from core.errors import GatehouseError
from core.files.adapter import adapt, registered_positive_label
from core.files.artifacts import load_artifact
from core.files.datasets import LoadedData, max_columns_allowed, read_data
from core.files.sandbox import preload, run_limited
from core.services.inventory.card import load_card, person_ids
from core.services.inventory.names import check_name

__all__ = ["TASKS", "CheckedInput", "check_input", "check_model", "read_input"]

TASKS = ("classification", "regression")
BAD_TASK = "The task {task!r} is unknown; use classification or regression."
TARGET_MISSING = (
    "The target column {target!r} is not in the evaluation data; its columns are {columns}."
)
SENSITIVE_MISSING = "Sensitive columns not in the evaluation data: {missing}; check the names (columns are {columns})."
FEATURES_MISSING = "The model expects feature columns that the evaluation data lacks: {missing}; give data with the columns the model was trained on."
ONE_CLASS = "The target column {target!r} has a single value ({value!r}); a classification model needs both outcomes in the evaluation data."
NOT_NUMERIC = "Columns {columns} are not numeric, but the model takes numbers directly; encode them, or register a pipeline that does."
PREDICT_FAILED = "The model failed to predict on the evaluation data: {error}"
TASK_MISMATCH = "The model is a {actual} model but --task says {task}; drop --task or correct it."


def read_input(path: Path | None, role: str, problems: list[str]) -> LoadedData | None:
    """The data file read, or None with its problem appended (None when no file is given)."""
    if path is None:
        return None
    try:
        return read_data(Path(path), max_columns=max_columns_allowed())
    except ValueError as err:
        problems.append(f"{role.capitalize()} data: {err}")
        return None


def check_model(
    model: Any,
    frame: pd.DataFrame,
    *,
    target: str,
    task: str | None,
    positive_label: str | None,
    problems: list[str],
) -> tuple[str, list[str], str | None, str]:
    """Check the model against the evaluation data; returns task, features, positive label, class."""
    estimator_class = f"{type(model).__module__}.{type(model).__qualname__}"
    actual = "classification" if is_classifier(model) else "regression"
    if task is not None and task != actual:
        problems.append(TASK_MISMATCH.format(actual=actual, task=task))
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        features = [str(n) for n in names]
    else:
        n = int(getattr(model, "n_features_in_", 0))
        features = [c for c in frame.columns if c != target][:n]
    if missing := [f for f in features if f not in frame.columns]:
        problems.append(FEATURES_MISSING.format(missing=missing))
        return actual, features, positive_label, estimator_class
    X = frame[features]
    if target in frame.columns and actual == "classification":
        values = frame[target].dropna().unique()
        if len(values) < 2:
            problems.append(
                ONE_CLASS.format(target=target, value=values[0].item() if len(values) else None)
            )
    takes_raw = type(model).__name__ in ("Pipeline", "ColumnTransformer")
    if not takes_raw and (text := [c for c in features if not pd.api.types.is_numeric_dtype(X[c])]):
        problems.append(NOT_NUMERIC.format(columns=text))
        return actual, features, positive_label, estimator_class
    try:
        if error := run_limited(_predict_error, model, X.head(min(len(X), 1000))):
            problems.append(PREDICT_FAILED.format(error=error))
    except GatehouseError as err:  # stopped at its memory or CPU-time limit, or crashed
        problems.extend(err.problems)
    if actual == "classification":
        positive_label, wrong = registered_positive_label(model, positive_label)
        if not wrong and target in frame.columns:
            wrong = adapt(model).target_problems(frame[target], target=target)
        problems += wrong
    return actual, features, positive_label, estimator_class


def _predict_error(model: Any, X: pd.DataFrame) -> str | None:
    """In a limited child: None if the model predicts on ``X``, else its error in one line."""
    try:
        model.predict(X)
    except Exception as err:  # the model's own error, whatever it is, is what the user needs
        return f"{type(err).__name__}: {err}"
    return None


@dataclass(frozen=True)
class CheckedInput:
    """Registration input that passed every check."""

    name: str
    model: Any
    target: str
    sensitive: tuple[str, ...]
    evaluation: LoadedData
    training: LoadedData | None
    card: dict[str, Any]
    people: dict[str, int]
    task: str
    features: list[str]
    positive_label: str | None
    estimator_class: str


def check_input(
    session: Session,
    *,
    name: str,
    artifact: Path,
    eval_data: Path,
    train_data: Path | None,
    target: str,
    sensitive: Sequence[str],
    positive_label: str | None,
    task: str | None,
    card: Path | Mapping[str, Any] | None,
    trusted: Sequence[str],
    problems: list[str],
) -> CheckedInput | None:
    """Every check of registration's input; None (with ``problems`` filled) when any fails."""
    name = check_name(session, name, problems)
    if task is not None and task not in TASKS:
        problems.append(BAD_TASK.format(task=task))
        task = None
    model_obj: Any = None
    try:
        model_obj = load_artifact(Path(artifact), extra_trusted=trusted)
    except GatehouseError as err:
        problems.extend(err.problems)
    evaluation = read_input(eval_data, "evaluation", problems)
    training = read_input(train_data, "training", problems)
    card_data = load_card(card, problems)
    people = person_ids(session, card_data, problems)
    features: list[str] = []
    estimator_class = ""
    if evaluation is not None:
        frame = evaluation.frame
        columns = list(map(str, frame.columns))
        if target not in frame.columns:
            problems.append(TARGET_MISSING.format(target=target, columns=columns))
        if missing := [c for c in sensitive if c not in frame.columns]:
            problems.append(SENSITIVE_MISSING.format(missing=missing, columns=columns))
        if model_obj is not None:
            task, features, positive_label, estimator_class = check_model(
                model_obj, frame, target=target, task=task,
                positive_label=positive_label, problems=problems,
            )  # fmt: skip
    if training is not None and target not in training.frame.columns:
        columns = list(map(str, training.frame.columns))
        problems.append("Training data: " + TARGET_MISSING.format(target=target, columns=columns))
    if problems or evaluation is None or model_obj is None or task is None:
        return None
    return CheckedInput(
        name, model_obj, target, tuple(sensitive), evaluation, training, card_data, people, task,
        features, positive_label, estimator_class,
    )  # fmt: skip


preload(__name__)  # children check predictions from this module

"""What an explanation is computed from: a version's model, evaluation and training data.

Reading them is split in two: ``input_rows`` reads the database rows (quick), ``read_inputs``
hashes the files, reads the data and loads the model in the sandbox (slow, several seconds for a
large forest). A job ends its transaction between the two, so the database (on SQLite: its only
write lock) is never held while files are hashed or a model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlmodel import Session

from core.errors import InputProblems, NotFound
from core.files.adapter import ModelAdapter
from core.files.datasets import read_data
from core.services.evidence.inputs import (
    checked_file,
    get_version,
    load_version_model,
    version_adapter,
)
from core.services.trusted_types import trusted_type_names
from core.tables import Dataset, ModelEntry, ModelVersion

__all__ = ["ExplanationInputs", "InputRows", "input_rows", "load_inputs", "read_inputs"]

NO_TRAINING_DATA = (
    "Version {version} has no training data registered; operating ranges come from the "
    "evaluation data instead."
)


@dataclass(frozen=True)
class ExplanationInputs:
    """A version's model (through its adapter), features, labels and training features."""

    version: ModelVersion
    adapter: ModelAdapter
    X: pd.DataFrame
    y: pd.Series | None
    X_train: pd.DataFrame | None
    inputs: dict[str, Any]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class InputRows:
    """The database rows an explanation reads, and the admin's allowlist of model types now."""

    version: ModelVersion
    eval_dataset: Dataset
    train_dataset: Dataset | None
    model_name: str | None
    trusted: tuple[str, ...]


def input_rows(session: Session, version_id: int) -> InputRows:
    """The version, its datasets and model entry, and the trusted types (database reads only)."""
    version = get_version(session, version_id)
    eval_dataset = session.get(Dataset, version.eval_dataset_id)
    if eval_dataset is None:
        raise NotFound([f"The evaluation dataset of version {version.id} is not in the database."])
    train_dataset = None
    if version.train_dataset_id is not None:
        train_dataset = session.get(Dataset, version.train_dataset_id)
        if train_dataset is None:
            raise NotFound(
                [f"The training dataset of version {version.id} is not in the database."]
            )
    model_row = session.get(ModelEntry, version.model_id)
    return InputRows(
        version=version,
        eval_dataset=eval_dataset,
        train_dataset=train_dataset,
        model_name=model_row.name if model_row else None,
        trusted=tuple(trusted_type_names(session=session)),
    )


def read_inputs(rows: InputRows) -> ExplanationInputs:
    """Model, evaluation and training data of the version, each checked against its hash.

    Touches no database: call it with no transaction open when the caller writes meanwhile.
    """
    version, eval_dataset, train_dataset = rows.version, rows.eval_dataset, rows.train_dataset
    frame = read_data(
        checked_file(eval_dataset.path, eval_dataset.sha256, "evaluation data", version)
    ).frame
    train_frame = None
    if train_dataset is not None:
        file = checked_file(train_dataset.path, train_dataset.sha256, "training data", version)
        train_frame = read_data(file).frame
    model = load_version_model(version, trusted=rows.trusted)
    adapter = version_adapter(version, model, frame)
    X = adapter.frame(frame)
    X_train = None
    if train_frame is not None:
        if missing := [c for c in X.columns if c not in train_frame.columns]:
            raise InputProblems(
                [
                    f"Feature columns missing from the training data of version {version.id}: "
                    f"{missing}; register the version again with complete training data."
                ]
            )
        X_train = train_frame[list(X.columns)]
    y = frame[version.target] if version.target in frame.columns else None
    return ExplanationInputs(
        version=version,
        adapter=adapter,
        X=X,
        y=y,
        X_train=X_train,
        inputs={
            "artifact_sha256": version.artifact_sha256,
            "eval_sha256": eval_dataset.sha256,
            "eval_rows": len(frame),
            "train_sha256": train_dataset.sha256 if train_dataset else None,
            "train_rows": len(train_frame) if train_frame is not None else None,
            "model": rows.model_name,
            "version": version.version,
        },
        notes=() if X_train is not None else (NO_TRAINING_DATA.format(version=version.id),),
    )


def load_inputs(session: Session, version_id: int) -> ExplanationInputs:
    """Rows and files in one go, for callers that hold their transaction throughout."""
    return read_inputs(input_rows(session, version_id))

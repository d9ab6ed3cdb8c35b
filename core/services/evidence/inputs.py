"""A version's inputs to evidence, read once and checked, and who may compute or read them.

The artifact and the evaluation data are checked against the content hashes recorded at
registration before anything is computed from them; the model is read through its
:class:`core.files.adapter.ModelAdapter`, so every kind of evidence speaks of the same
positive class.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session

from core.errors import InputProblems, NotFound
from core.files.adapter import PROBABILITY, ModelAdapter, adapt
from core.files.artifacts import load_artifact
from core.files.datasets import read_data
from core.files.store import sha256_file
from core.services.permissions import (
    APPLICANT_DATA_ROLES,
    EVIDENCE_ROLES,
    require_role,
)
from core.services.trusted_types import trusted_type_names
from core.tables import Dataset, ModelVersion, User

__all__ = [
    "APPLICANT_DATA_ROLES",
    "EVIDENCE_ROLES",
    "FILE_GONE",
    "TAMPERED",
    "UNKNOWN_VERSION",
    "checked_file",
    "feature_frame",
    "get_version",
    "load_evaluation_data",
    "load_version_model",
    "predictions",
    "require_applicant_access",
    "version_adapter",
]


TAMPERED = (
    "The stored {what} of version {version} no longer matches the hash recorded at registration "
    "({expected}); restore it from backup or register the model again."
)
FILE_GONE = (
    "The stored {what} of version {version} is missing at {path}; restore the data folder "
    "(GATEHOUSE_DATA_DIR) from backup."
)
UNKNOWN_VERSION = (
    "No model version with id {version_id}; list them with `gatehouse model show NAME`."
)


def require_applicant_access(session: Session, actor: User) -> None:
    """Raise PermissionDenied unless ``actor`` may read applicant-level data now."""
    require_role(session, actor, "read applicant-level data", *APPLICANT_DATA_ROLES)


def checked_file(path: str, expected: str, what: str, version: ModelVersion) -> Path:
    """The stored file, if it still has the content hash recorded at registration."""
    file = Path(path)
    if not file.is_file():
        raise InputProblems([FILE_GONE.format(what=what, version=version.id, path=file)])
    if sha256_file(file) != expected:
        raise InputProblems([TAMPERED.format(what=what, version=version.id, expected=expected)])
    return file


def load_version_model(version: ModelVersion, *, trusted: Sequence[str] | None = None) -> Any:
    """The version's fitted model, after checking the stored bytes are the registered ones.

    ``trusted`` is the admin's allowlist of model types; by default it is read now (not as it
    was at registration) through the version's session.
    """
    file = checked_file(version.artifact_path, version.artifact_sha256, "artifact", version)
    if trusted is None:
        session = Session.object_session(version)
        trusted = trusted_type_names(session=session) if isinstance(session, Session) else ()
    return load_artifact(file, extra_trusted=trusted)


def load_evaluation_data(session: Session, version: ModelVersion) -> tuple[pd.DataFrame, Dataset]:
    """The version's evaluation data and its dataset row, checked against the registered hash."""
    dataset = session.get(Dataset, version.eval_dataset_id)
    if dataset is None:
        raise NotFound([f"The evaluation dataset of version {version.id} is not in the database."])
    file = checked_file(dataset.path, dataset.sha256, "evaluation data", version)
    return read_data(file).frame, dataset


def get_version(session: Session, version_id: int) -> ModelVersion:
    """The version evidence is about, or NotFound saying how to list versions."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound([UNKNOWN_VERSION.format(version_id=version_id)])
    return version


def _features(version: ModelVersion, frame: pd.DataFrame) -> list[str]:
    features: list[str] = json.loads(version.features_json)
    return features or [str(c) for c in frame.columns if c != version.target]


def feature_frame(version: ModelVersion, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``frame`` the version's model takes, in its order."""
    return frame[_features(version, frame)]


def version_adapter(version: ModelVersion, model: Any, frame: pd.DataFrame) -> ModelAdapter:
    """The version's model with its registered features and positive class."""
    return adapt(model, features=_features(version, frame), positive_label=version.positive_label)


def predictions(
    adapter: ModelAdapter, version: ModelVersion, frame: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Truth and scores (or predicted labels) on ``frame`` as the metrics take them.

    Classification truth is read as the model's own classes (InputProblems when a value is
    missing or unknown to the model); the metrics are told ``adapter.positive_class``.
    """
    X = adapter.frame(frame)
    truth = frame[version.target]
    if adapter.task == "regression":
        return {
            "y_true": truth.to_numpy(dtype=float),
            "y_pred": adapter.scores(X),
        }
    y_true = adapter.target_labels(truth, target=version.target)
    if adapter.output_space == PROBABILITY:
        return {"y_true": y_true, "y_score": adapter.scores(X)}
    return {"y_true": y_true, "y_pred": adapter.predicted_labels(X)}

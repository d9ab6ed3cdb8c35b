"""Applicant-level reads: finding rows of the evaluation data and explaining one decision.

``explain_decision`` explains one applicant live (one row is fast): a row of the evaluation
data by position, or a what-if record. Both functions here read personal data, so each takes
the acting user and checks, on every call, that they may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session

from core.errors import InputProblems
from core.files.adapter import plain_label
from core.files.sandbox import preload, run_limited
from core.metrics.explain import explain_row
from core.services.evidence.explanation_inputs import load_inputs
from core.services.evidence.explanations import DEFAULT_BACKGROUND, parameter_problems
from core.services.evidence.inputs import (
    get_version,
    load_evaluation_data,
    require_applicant_access,
)
from core.tables import ModelVersion, User

__all__ = [
    "BAD_ROW",
    "NOT_A_RECORD",
    "NO_ROW_OR_RECORD",
    "ROW_AND_RECORD",
    "explain_decision",
    "search_rows",
]

ROW_AND_RECORD = (
    "Explain a row of the evaluation data (row_index) or a what-if record (record), not both."
)
NO_ROW_OR_RECORD = (
    "Say which decision to explain: a row of the evaluation data (row_index) or a what-if "
    "record (record)."
)
BAD_ROW = (
    "Row {row!r} is not in the evaluation data of version {version}; choose a row number "
    "from 0 to {last}."
)
NOT_A_RECORD = "The what-if record is a {kind}; give a mapping of feature name to value."


def _outcome_name(version: ModelVersion) -> str:
    target = version.target.replace("_", " ")
    return f"{target} score" if version.task == "classification" else f"predicted {target}"


def search_rows(
    *, session: Session, actor: User, version_id: int, text: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Rows of the version's evaluation data whose values contain every word of ``text``
    (case-insensitive), first ``limit`` of them, each with its row number for explain_decision.

    Applicant-level data: ``actor`` must hold one of ``APPLICANT_DATA_ROLES``, checked on every
    call (PermissionDenied otherwise).
    """
    require_applicant_access(session, actor)
    version = get_version(session, version_id)
    frame, _ = load_evaluation_data(session, version)
    words = text.lower().split()
    if not words:
        return []
    cells = frame.astype(str).apply(lambda column: column.str.lower())
    joined = cells.apply(" ".join, axis=1)  # one string per row, so words may match any column
    match = pd.Series(True, index=frame.index)
    for word in words:
        match &= joined.str.contains(word, regex=False)
    positions = np.flatnonzero(match.to_numpy())[:limit]
    return [
        {"row": int(i), **{str(k): _plain_cell(v) for k, v in frame.iloc[i].items()}}
        for i in positions
    ]


def _plain_cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value


def explain_decision(
    *,
    session: Session,
    actor: User,
    version_id: int,
    row_index: int | None = None,
    record: Mapping[str, Any] | None = None,
    seed: int = 0,
    background: int = DEFAULT_BACKGROUND,
) -> dict[str, Any]:
    """Why the version's model scored one applicant as it did, computed live.

    Give ``row_index`` (a row position in the evaluation data, from 0) or ``record`` (a
    what-if: every feature of the model mapped to a value). Returns the prediction, the
    waterfall contributions in the model's output space, the top three drivers as sentences
    ("Debt ratio 0.62 lowered the approved score the most.") and warnings for values outside
    the training range, which are explained but flagged, not refused. Plus ``row_index``,
    ``actual`` (the recorded label of that row, or None) and ``version_id``. Probability,
    contributions and labels are about the registered positive class (``positive_class``).

    Applicant-level data: ``actor`` must hold one of ``APPLICANT_DATA_ROLES``, checked on every
    call (PermissionDenied otherwise); cache the answer only behind this check.
    """
    require_applicant_access(session, actor)
    problems = parameter_problems(seed=seed, background=background)
    if row_index is not None and record is not None:
        problems.append(ROW_AND_RECORD)
    elif row_index is None and record is None:
        problems.append(NO_ROW_OR_RECORD)
    if record is not None and not isinstance(record, Mapping):
        problems.append(NOT_A_RECORD.format(kind=type(record).__name__))
    if problems:
        raise InputProblems(problems)
    data = load_inputs(session, version_id)
    version = data.version
    actual = None
    if row_index is not None:
        valid = isinstance(row_index, int | np.integer) and not isinstance(row_index, bool)
        if not valid or not 0 <= int(row_index) < len(data.X):
            raise InputProblems(
                [BAD_ROW.format(row=row_index, version=version.id, last=len(data.X) - 1)]
            )
        row: Any = data.X.iloc[int(row_index)]
        if data.y is not None:
            value = data.y.iloc[int(row_index)]
            actual = None if pd.isna(value) else plain_label(value)
    else:
        row = record
    # The global explanation's background comes from the training data; so does this one's.
    explanation = run_limited(
        explain_row,
        what=f"the model of version {version.id}",
        model=data.adapter,
        row=row,
        X_background=data.X if data.X_train is None else data.X_train,
        X_train=data.X_train,
        seed=seed,
        background_size=background,
        outcome_name=_outcome_name(version),
    )
    return {
        "version_id": version.id,
        "row_index": None if row_index is None else int(row_index),
        "actual": actual,
        "target": version.target,
        **explanation.to_dict(),
    }


preload(__name__)  # children run what-if explanations from this module

"""What monitoring reads about a version, once per call: its model, reference data and policy,
and storing a batch's files as datasets.

The reference is the version's evaluation data (checked against its registered hash) with the
model's scores on it, computed in the sandbox; the operating ranges come from the training
data when it was registered. Thresholds are the tier's monitoring thresholds in the policy
version governing the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from core.errors import InputProblems
from core.files.adapter import PROBABILITY, ModelAdapter
from core.files.datasets import read_data
from core.files.sandbox import preload, run_limited
from core.files.store import sha256_file, store_file
from core.rules.kpis import KPI_TARGETS_FIELD, KpiTarget, parse_kpi_targets, unknown_kpis
from core.rules.monitoring_policy import MonitoringPolicy, monitoring_policy
from core.rules.thresholds import FairnessPolicy
from core.services.audit import append_event
from core.services.batch_scan import BatchLayout
from core.services.evidence.inputs import (
    checked_file,
    get_version,
    load_evaluation_data,
    load_version_model,
    version_adapter,
)
from core.services.inventory.card import current_card
from core.services.permissions import Actor
from core.services.policy import policy_for_model, thresholds_for_version
from core.tables import Dataset, ModelEntry, ModelVersion

__all__ = [
    "BAD_KPI",
    "VersionContext",
    "model_scores",
    "parse_kpi_values",
    "store_dataset",
    "version_context",
]

BAD_KPI = "The KPI value {spec!r} is not of the form NAME=NUMBER; write it like approval_rate=0.61."


@dataclass(frozen=True)
class VersionContext:
    """A version as monitoring sees it."""

    version: ModelVersion
    model: ModelEntry
    adapter: ModelAdapter
    reference: pd.DataFrame
    reference_sha256: str
    policy: MonitoringPolicy
    fairness: FairnessPolicy
    policy_version: int | None
    kpi_targets: list[KpiTarget]
    sensitive: tuple[str, ...]

    @property
    def features(self) -> tuple[str, ...]:
        return self.adapter.features

    @property
    def label(self) -> tuple[str, int]:
        return self.model.name, self.version.version

    def layout(self, *, id_column: str, output_column: str, groups: tuple[str, ...]) -> BatchLayout:
        numeric = frozenset(
            f
            for f in self.features
            if pd.api.types.is_numeric_dtype(self.reference[f])
            or pd.api.types.is_bool_dtype(self.reference[f])
        )
        return BatchLayout(
            features=self.features,
            numeric=numeric,
            id_column=id_column,
            output_column=output_column,
            groups=groups,
            probabilistic=self.adapter.output_space == PROBABILITY,
        )

    def training_frame(self, session: Session) -> pd.DataFrame:
        """The training data (checked), or the evaluation data when none was registered."""
        if self.version.train_dataset_id is None:
            return self.reference
        dataset = session.get(Dataset, self.version.train_dataset_id)
        if dataset is None:
            return self.reference
        file = checked_file(dataset.path, dataset.sha256, "training data", self.version)
        return read_data(file).frame


def _scores(adapter: ModelAdapter, X: pd.DataFrame) -> np.ndarray:
    return adapter.scores(X)


def model_scores(context: VersionContext, X: pd.DataFrame) -> np.ndarray:
    """The version's scores of the rows of ``X``, computed in the sandbox."""
    return run_limited(
        _scores, context.adapter, X, what=f"the model of version {context.version.id}"
    )


def version_context(session: Session, version_id: int) -> VersionContext:
    """Read the version's model, evaluation data, policy and card KPI targets."""
    version = get_version(session, version_id)
    model = session.get(ModelEntry, version.model_id)
    assert model is not None
    frame, dataset = load_evaluation_data(session, version)
    adapter = version_adapter(version, load_version_model(version), frame)
    lookup = policy_for_model(session, version.model_id, with_context=False)
    fairness, _, policy_version = thresholds_for_version(session, version)
    targets, _ = parse_kpi_targets(
        current_card(session=session, model_id=model.id or 0).get(KPI_TARGETS_FIELD)
    )
    return VersionContext(
        version=version,
        model=model,
        adapter=adapter,
        reference=frame,
        reference_sha256=dataset.sha256,
        policy=monitoring_policy(lookup.thresholds()),
        fairness=fairness,
        policy_version=policy_version,
        kpi_targets=targets,
        sensitive=tuple(json.loads(version.sensitive_json)),
    )


def parse_kpi_values(
    specs: Mapping[str, float] | Sequence[str], targets: list[KpiTarget]
) -> tuple[dict[str, float], list[str]]:
    """KPI values given as ``NAME=NUMBER`` (or a mapping), and every problem with them."""
    values: dict[str, float] = {}
    problems: list[str] = []
    items = specs.items() if isinstance(specs, Mapping) else (s.partition("=")[::2] for s in specs)
    for name, raw in items:
        try:
            values[str(name).strip()] = float(raw)
        except (TypeError, ValueError):
            problems.append(BAD_KPI.format(spec=f"{name}={raw}"))
    return values, problems + unknown_kpis(values, targets)


def store_dataset(
    session: Session,
    actor: Actor,
    source: Path,
    *,
    name: str,
    rows: int,
    columns: list[dict[str, Any]],
    provenance: str,
) -> Dataset:
    """Store a file as a content-addressed dataset (or return the row of the same content)."""
    sha = sha256_file(source)
    existing = session.exec(select(Dataset).where(Dataset.sha256 == sha)).first()
    if existing is not None:
        return existing
    suffix = ".parquet" if source.suffix.lower() in (".parquet", ".pq") else ".csv"
    stored = store_file(source, kind="datasets", sha256=sha, suffix=suffix)
    dataset = Dataset(
        sha256=sha,
        name=name[:200],
        format=suffix.lstrip("."),
        path=str(stored),
        rows=rows,
        columns=len(columns),
        columns_json=json.dumps(columns),
        provenance=provenance,
        created_by=actor.id if actor else None,
    )
    session.add(dataset)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="dataset_stored",
        subject_type="dataset",
        subject_id=str(dataset.id),
        details={"sha256": sha, "name": dataset.name, "rows": rows},
    )
    return dataset


def refuse(problems: list[str]) -> None:
    """Raise InputProblems when there are problems."""
    if problems:
        raise InputProblems(problems)


preload(__name__)  # children score batches with this module's function

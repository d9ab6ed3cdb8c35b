"""The demo's production monitoring: four monthly batches of the production model, the last one
drifted, each with its recorded outcomes and business KPIs against the card's baseline.

The batches are fresh synthetic applications (seeds apart from the training data); the drifted
one models an economic downturn: incomes fall and debt ratios rise, while the recorded outcomes
stay those of the applicants' original profiles, so the model's ranking decays too. Everything
goes through the real services, so the drift, the findings and the KPI history are what an
organisation would see. Deterministic: the same seed gives the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from core.demo.data import TARGET, make_credit_applications
from core.services.inventory import edit_card
from core.services.monitoring import ingest_batch
from core.services.monitoring_labels import ingest_labels
from core.services.monitoring_reads import scored_rows
from core.services.permissions import OPERATOR
from core.tables import ModelEntry, User

__all__ = [
    "DEMO_BASELINE",
    "DEMO_BATCHES",
    "DEMO_KPI_TARGETS",
    "ProductionBatch",
    "production_batch",
    "seed_monitoring",
]

ID_COLUMN = "record_id"
DEMO_BASELINE = (
    "The underwriting scorecard in use before the model: approve when income is at least "
    "35,000 and the debt ratio at most 0.45."
)
DEMO_KPI_TARGETS: list[dict[str, Any]] = [
    {
        "name": "approval_rate",
        "measured_as": "applications approved over applications decided",
        "better": "higher",
        "baseline": 0.52,
        "hurdle": 0.55,
    },
    {
        "name": "default_rate",
        "measured_as": "approved loans that defaulted within 12 months over approved loans",
        "better": "lower",
        "baseline": 0.21,
        "hurdle": 0.19,
    },
]
# (scored on, seed, downturn strength): three ordinary months, then a downturn.
DEMO_BATCHES: tuple[tuple[datetime, int, float], ...] = (
    (datetime(2026, 8, 31, tzinfo=UTC), 101, 0.0),
    (datetime(2026, 9, 30, tzinfo=UTC), 102, 0.0),
    (datetime(2026, 10, 31, tzinfo=UTC), 103, 0.03),
    (datetime(2026, 11, 30, tzinfo=UTC), 104, 1.0),
)


@dataclass(frozen=True)
class ProductionBatch:
    """A batch file (inputs and record ids) and its labels file."""

    batch: Path
    labels: Path


def production_batch(
    folder: Path, *, name: str, seed: int, n_rows: int = 2_000, downturn: float = 0.0
) -> ProductionBatch:
    """Write a batch of synthetic applications (no outputs: the version scores it) and their
    recorded outcomes. ``downturn`` in [0, 1] lowers incomes and raises debt ratios."""
    frame = make_credit_applications(n_rows=n_rows, seed=seed)
    frame["income"] = np.round(frame["income"] * (1 - 0.45 * downturn), 2)
    frame["debt_ratio"] = np.round(frame["debt_ratio"] + 0.35 * downturn, 3)
    frame.insert(0, ID_COLUMN, [f"{name}-{i:05d}" for i in range(n_rows)])
    folder.mkdir(parents=True, exist_ok=True)
    batch, labels = folder / f"{name}.csv", folder / f"{name}-labels.csv"
    frame.drop(columns=[TARGET]).to_csv(batch, index=False)
    frame[[ID_COLUMN, TARGET]].to_csv(labels, index=False)
    return ProductionBatch(batch=batch, labels=labels)


def _kpis(files: ProductionBatch, scored: pd.DataFrame) -> list[str]:
    """The batch's business KPIs as production would report them: approvals at the 0.5 cut-off
    and the default rate among the approved."""
    outcomes = pd.read_csv(files.labels, dtype={ID_COLUMN: str})
    joined = scored.merge(outcomes, left_on="id", right_on=ID_COLUMN)
    approved = joined["score"].to_numpy() >= 0.5
    repaid = joined[TARGET].to_numpy()[approved]
    default_rate = float(1 - repaid.mean()) if approved.any() else 0.0
    return [f"approval_rate={approved.mean():.4f}", f"default_rate={default_rate:.4f}"]


def seed_monitoring(
    session: Session, folder: Path, *, model: str = "credit-gbm"
) -> list[dict[str, Any]]:
    """Give the production model its card's baseline and KPI targets, then ingest the demo's
    batches, their labels and KPIs, as the model's ML engineer would."""
    entry = session.exec(select(ModelEntry).where(ModelEntry.name == model)).first()
    if entry is None or entry.production_version_id is None:
        return []
    edit_card(
        session=session,
        actor=OPERATOR,
        model_id=entry.id or 0,
        changes={"baseline": DEMO_BASELINE, "kpi_targets": DEMO_KPI_TARGETS},
    )
    engineer = session.exec(select(User).where(User.username == "milo")).first()
    actor = engineer or OPERATOR
    out = []
    for scored_at, seed, downturn in DEMO_BATCHES:
        name = f"{model}-{scored_at:%Y-%m}"
        files = production_batch(folder, name=name, seed=seed, downturn=downturn)
        result = ingest_batch(
            session=session,
            actor=actor,
            version_id=entry.production_version_id,
            path=files.batch,
            scored_at=scored_at,
            id_column=ID_COLUMN,
        )
        scored = scored_rows(session=session, batch_id=result.batch_id)
        labels = ingest_labels(
            session=session,
            actor=actor,
            version_id=entry.production_version_id,
            path=files.labels,
            batch_id=result.batch_id,
            kpis=_kpis(files, scored),
        )
        out.append({"batch": result.to_dict(), "labels": labels.to_dict()})
    return out

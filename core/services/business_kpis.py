"""Business value: each model's latest business KPI against its baseline and its hurdle.

A model card may list KPI targets (``core.rules.kpis``); monitoring records KPI values on
production batches (``MonitoringBatch.kpis_json``). The dashboard shows, per model and KPI, the
newest recorded value beside the baseline it should beat and the hurdle it must reach, so a
KPI below its hurdle is seen across the portfolio, not only on the model's Monitoring page.
Two queries whatever the portfolio's size: the newest card of every model that names KPI
targets, and the newest KPI-carrying batches of those models. Everyone signed in may read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func

from core.rules.checks import Direction, meets
from core.rules.kpis import KPI_TARGETS_FIELD, parse_kpi_targets
from core.services.permissions import EVERY_ROLE, Actor, require_role
from core.tables import ModelCardRevision, ModelEntry, ModelVersion, MonitoringBatch

__all__ = ["RECENT_BATCHES", "BusinessKpi", "business_kpis"]

#: How many of a model's newest KPI-carrying batches are read for its latest values; a KPI
#: last measured before them shows as not measured recently.
RECENT_BATCHES = 20


@dataclass(frozen=True)
class BusinessKpi:
    """One KPI of one model: its target as the card states it and its newest measured value."""

    model_id: int
    model: str
    kpi: str
    measured_as: str
    better: str
    unit: str
    baseline: float | None
    hurdle: float
    latest: float | None
    version_id: int | None
    version: int | None
    measured_at: datetime | None

    @property
    def below_hurdle(self) -> bool:
        """Measured, and on the wrong side of its hurdle ("below" whichever way is better)."""
        direction: Direction = "at_least" if self.better == "higher" else "at_most"
        return self.latest is not None and not meets(self.latest, self.hurdle, direction)

    @property
    def beats_baseline(self) -> bool | None:
        """Whether the latest value is better than the baseline; None when either is unknown."""
        if self.latest is None or self.baseline is None:
            return None
        if self.better == "higher":
            return self.latest > self.baseline
        return self.latest < self.baseline

    @property
    def status(self) -> str:
        if self.latest is None:
            return "not measured recently"
        return "below hurdle" if self.below_hurdle else "meets hurdle"


def _cards_with_targets(session: Session) -> list[tuple[int, str, str]]:
    """(model id, name, card JSON) of every model whose newest card names KPI targets."""
    newest = (
        sa.select(
            col(ModelCardRevision.model_id).label("model_id"),
            func.max(col(ModelCardRevision.revision)).label("revision"),
        )
        .group_by(col(ModelCardRevision.model_id))
        .subquery()
    )
    rows = session.execute(
        sa.select(col(ModelEntry.id), col(ModelEntry.name), col(ModelCardRevision.card_json))
        .join(newest, newest.c.model_id == col(ModelEntry.id))
        .join(
            ModelCardRevision,
            sa.and_(
                col(ModelCardRevision.model_id) == newest.c.model_id,
                col(ModelCardRevision.revision) == newest.c.revision,
            ),
        )
        .where(col(ModelCardRevision.card_json).contains(f'"{KPI_TARGETS_FIELD}"'))
        .order_by(col(ModelEntry.name))
    ).all()
    return [(int(i), str(n), str(c)) for i, n, c in rows]


def _latest_values(
    session: Session, model_ids: list[int]
) -> dict[tuple[int, str], tuple[float, int, int, datetime]]:
    """(model, KPI) to (value, version id, version, scored at) from the newest batch holding
    it among each model's newest ``RECENT_BATCHES`` KPI-carrying batches."""
    if not model_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=col(MonitoringBatch.model_id),
            order_by=(col(MonitoringBatch.scored_at).desc(), col(MonitoringBatch.id).desc()),
        )
        .label("rank")
    )
    recent = (
        sa.select(
            col(MonitoringBatch.model_id).label("model_id"),
            col(MonitoringBatch.version_id).label("version_id"),
            col(MonitoringBatch.scored_at).label("scored_at"),
            col(MonitoringBatch.kpis_json).label("kpis_json"),
            rank,
        )
        .where(
            col(MonitoringBatch.model_id).in_(model_ids),
            col(MonitoringBatch.kpis_json) != "{}",
        )
        .subquery()
    )
    rows = session.execute(
        sa.select(
            recent.c.model_id,
            recent.c.version_id,
            col(ModelVersion.version),
            recent.c.scored_at,
            recent.c.kpis_json,
        )
        .join(ModelVersion, col(ModelVersion.id) == recent.c.version_id)
        .where(recent.c.rank <= RECENT_BATCHES)
        .order_by(recent.c.model_id, recent.c.rank)
    ).all()
    latest: dict[tuple[int, str], tuple[float, int, int, datetime]] = {}
    for model_id, version_id, version, scored_at, kpis_json in rows:
        values: dict[str, Any] = json.loads(kpis_json)
        for name, value in values.items():
            latest.setdefault(
                (int(model_id), str(name)), (float(value), version_id, version, scored_at)
            )
    return latest


def business_kpis(*, session: Session, actor: Actor) -> tuple[BusinessKpi, ...]:
    """Every KPI target of every model's card with its newest measured value, by model name
    then in the card's order. Targets the card states badly are left out (the card editor
    names their problems)."""
    require_role(session, actor, "read the business KPIs", *EVERY_ROLE)
    cards = _cards_with_targets(session)
    latest = _latest_values(session, [model_id for model_id, _, _ in cards])
    out = []
    for model_id, model, card_json in cards:
        targets, _ = parse_kpi_targets(json.loads(card_json).get(KPI_TARGETS_FIELD))
        for t in targets:
            value, version_id, version, when = latest.get(
                (model_id, t.name), (None, None, None, None)
            )
            out.append(
                BusinessKpi(
                    model_id=model_id,
                    model=model,
                    kpi=t.name,
                    measured_as=t.measured_as,
                    better=t.better,
                    unit=t.unit,
                    baseline=t.baseline,
                    hurdle=t.hurdle,
                    latest=value,
                    version_id=version_id,
                    version=version,
                    measured_at=when,
                )
            )
    return tuple(out)

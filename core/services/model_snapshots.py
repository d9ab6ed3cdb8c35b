"""The inventory's point-in-time history: every change to a model's columns closes its open
snapshot and appends a new one, so the inventory can be read as it stood on any date.

Its own module, imported by inventory, findings and gates alike, with no services of its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from core.tables import OPEN_END, ModelEntry, ModelSnapshot, utcnow

__all__ = ["record_snapshot"]


def record_snapshot(session: Session, model: ModelEntry) -> None:
    """Close the model's open snapshot and append one of its current columns."""
    model.updated_at = utcnow()
    session.add(model)
    session.flush()
    assert model.id is not None
    session.execute(
        sa.update(ModelSnapshot)
        .where(col(ModelSnapshot.model_id) == model.id, col(ModelSnapshot.valid_to) == OPEN_END)
        .values(valid_to=model.updated_at)
    )
    session.add(
        ModelSnapshot(
            model_id=model.id,
            valid_from=model.updated_at,
            name=model.name,
            purpose=model.purpose,
            business_unit=model.business_unit,
            tags=model.tags,
            owner_id=model.owner_id,
            risk_tier=model.risk_tier,
            current_version_id=model.current_version_id,
            current_stage=model.current_stage,
            production_version_id=model.production_version_id,
            next_review_date=model.next_review_date,
            open_findings=model.open_findings,
            gate_status=model.gate_status,
        )
    )

"""Which model and version a page opens on when nobody chose one: the one that matters most.

That is a model's production version (when several models have one, the highest risk tier, then
the most recently changed), else the newest registered version; never the first name in the
alphabet.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.rules.risk import TIERS
from core.tables import ModelEntry, ModelVersion

__all__ = ["default_focus", "default_version_of"]


def default_version_of(*, session: Session, model_id: int) -> int | None:
    """The version a page shows for a model: its production version, else its newest."""
    model = session.get(ModelEntry, model_id)
    if model is None:
        return None
    if model.production_version_id is not None:
        return int(model.production_version_id)
    newest = session.exec(
        select(ModelVersion.id)
        .where(ModelVersion.model_id == model_id)
        .order_by(col(ModelVersion.version).desc())
        .limit(1)
    ).first()
    return None if newest is None else int(newest)


def default_focus(*, session: Session) -> tuple[int, int | None] | None:
    """(model id, version id) to open on: the riskiest production model, else the newest model."""
    # Unassessed models rank last: their risk is not known to matter.
    tier_rank = sa.case(
        {tier: rank for rank, tier in enumerate(reversed(TIERS))},
        value=col(ModelEntry.risk_tier),
        else_=len(TIERS),
    )
    in_production = session.exec(
        select(ModelEntry.id)
        .where(col(ModelEntry.production_version_id).is_not(None))
        .order_by(tier_rank, col(ModelEntry.updated_at).desc(), col(ModelEntry.id).desc())
        .limit(1)
    ).first()
    newest = (
        in_production
        or session.exec(
            select(ModelEntry.id)
            .order_by(col(ModelEntry.created_at).desc(), col(ModelEntry.id).desc())
            .limit(1)
        ).first()
    )
    if newest is None:
        return None
    return int(newest), default_version_of(session=session, model_id=int(newest))

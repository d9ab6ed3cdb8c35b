"""The portfolio's evidence at a glance: per model, the status of its newest evidence."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from core.tables import Evidence, ModelEntry

__all__ = ["EVIDENCE_KINDS", "evidence_overview"]

#: The kinds of evidence a version can have, in the order pages show them.
EVIDENCE_KINDS = ("performance", "fairness", "explanation")


def evidence_overview(*, session: Session) -> list[dict[str, Any]]:
    """Per model, its current version and the status of that version's newest evidence of each
    kind ("not computed" where there is none), in two queries whatever the inventory's size."""
    models = session.exec(
        select(
            ModelEntry.id, ModelEntry.name, ModelEntry.current_stage, ModelEntry.current_version_id
        )
        .where(col(ModelEntry.current_version_id).is_not(None))
        .order_by(ModelEntry.name)
    ).all()
    newest = (
        select(func.max(Evidence.id))
        .where(col(Evidence.version_id).in_(select(ModelEntry.current_version_id)))
        .group_by(col(Evidence.version_id), col(Evidence.kind))
    )
    statuses: dict[tuple[int | None, str], str | None] = {
        (v, k): st
        for v, k, st in session.exec(
            select(Evidence.version_id, Evidence.kind, Evidence.status).where(
                col(Evidence.id).in_(newest)
            )
        ).all()
    }
    return [
        {
            "model_id": model_id,
            "model": name,
            "stage": stage,
            "version_id": version_id,
            **{kind: statuses.get((version_id, kind), "not computed") for kind in EVIDENCE_KINDS},
        }
        for model_id, name, stage, version_id in models
    ]

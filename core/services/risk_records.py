"""Reading risk back: every assessment with its overrides, the assessment in force, and the
per-model columns the inventory shows (tier, next review, overdue, "needs review").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from core.rules.risk import material_changes, review_overdue
from core.tables import (
    Dataset,
    ModelEntry,
    ModelVersion,
    PolicyVersion,
    RiskAssessment,
    RiskOverride,
    User,
    utcnow,
)

__all__ = ["basis_of", "current_risk", "risk_columns", "risk_history"]


def basis_of(session: Session, version_id: int | None) -> dict[str, Any]:
    """What an assessment rests on: the version, its features, target, training data and
    model class; a change in any of them means the assessment needs review."""
    version = session.get(ModelVersion, version_id) if version_id else None
    if version is None:
        return {}
    train = session.get(Dataset, version.train_dataset_id) if version.train_dataset_id else None
    return {
        "version_id": version.id,
        "features": json.loads(version.features_json),
        "target": version.target,
        "training_data": train.sha256 if train else None,
        "model_class": version.estimator_class,
    }


def _assessment_dict(
    session: Session, a: RiskAssessment, overrides: list[RiskOverride], names: Mapping[Any, str]
) -> dict[str, Any]:
    row = session.get(PolicyVersion, a.policy_version_id)
    last = overrides[-1] if overrides else None
    return {
        "assessment_id": a.id,
        "assessed_by": names.get(a.assessed_by, "system"),
        "assessed_at": a.assessed_at.isoformat(),
        "policy_version": row.version if row else None,
        "method_version": a.method_version,
        "answers": json.loads(a.answers_json),
        "scores": {"materiality": a.materiality, "complexity": a.complexity},
        "levels": {"materiality": a.materiality_level, "complexity": a.complexity_level},
        "computed_tier": a.computed_tier,
        "tier": last.tier if last else a.computed_tier,
        "next_review": (last.next_review_date if last else a.next_review_date).isoformat(),
        "basis": json.loads(a.basis_json),
        "overrides": [
            {
                "tier": o.tier,
                "justification": o.justification,
                "by": names.get(o.overridden_by, "system"),
                "at": o.overridden_at.isoformat(),
            }
            for o in overrides
        ],
    }


def risk_history(session: Session, model_id: int) -> list[dict[str, Any]]:
    """Every assessment of a model, newest first, with every answer and its overrides."""
    assessments = session.exec(
        select(RiskAssessment)
        .where(RiskAssessment.model_id == model_id)
        .order_by(col(RiskAssessment.id).desc())
    ).all()
    ids = [a.id for a in assessments]
    overrides: dict[int, list[RiskOverride]] = {}
    for o in session.exec(
        select(RiskOverride)
        .where(col(RiskOverride.assessment_id).in_(ids))
        .order_by(col(RiskOverride.id))
    ).all():
        overrides.setdefault(o.assessment_id, []).append(o)
    names = dict(session.exec(select(User.id, User.username)).all())
    return [_assessment_dict(session, a, overrides.get(a.id, []), names) for a in assessments]  # type: ignore[arg-type]


def current_risk(session: Session, model_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The assessment in force with its flags: overdue review, and "needs review" naming what
    changed in the current version since the assessed one."""
    history = risk_history(session, model_id)
    columns = risk_columns(session, [model_id], now).get(model_id, {})
    return {"current": history[0] if history else None, **columns, "history": history[1:]}


def risk_columns(
    session: Session, model_ids: Iterable[int], now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Per model: computed tier, override tier, tier in force, next review, overdue and needs
    review, for the models on one inventory page (a few queries whatever their number)."""
    ids = list(model_ids)
    now = now or utcnow()
    newest = (
        select(func.max(RiskAssessment.id))
        .where(col(RiskAssessment.model_id).in_(ids))
        .group_by(col(RiskAssessment.model_id))
    )
    assessments = session.exec(
        select(RiskAssessment).where(col(RiskAssessment.id).in_(newest))
    ).all()
    overrides: dict[int, RiskOverride] = {}
    for o in session.exec(
        select(RiskOverride)
        .where(col(RiskOverride.assessment_id).in_([a.id for a in assessments]))
        .order_by(col(RiskOverride.id))
    ).all():
        overrides[o.assessment_id] = o
    models = {
        m.id: m for m in session.exec(select(ModelEntry).where(col(ModelEntry.id).in_(ids))).all()
    }
    out: dict[int, dict[str, Any]] = {}
    for a in assessments:
        last = overrides.get(a.id or 0)
        due = last.next_review_date if last else a.next_review_date
        model = models.get(a.model_id)
        changed = []
        if model is not None and model.current_version_id != a.version_id:
            changed = material_changes(
                json.loads(a.basis_json), basis_of(session, model.current_version_id)
            )
        out[a.model_id] = {
            "computed_tier": a.computed_tier,
            "override_tier": last.tier if last else None,
            "tier": last.tier if last else a.computed_tier,
            "next_review": due,
            "overdue": review_overdue(due, now),
            "needs_review": bool(changed),
            "changed": changed,
        }
    return out

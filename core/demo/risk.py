"""The demo's risk assessments: three tiers, one review overdue, one tier overridden."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from core.services.permissions import OPERATOR
from core.services.risk import assess_model, find_model, override_tier
from core.tables import User, utcnow

__all__ = ["DEMO_ANSWERS", "seed_risk"]

_GBM = {
    "consumers": "customers",
    "deployment_context": "internal_system",
    "decisions_about_people": "indirect",
    "regulation": "sector",
    "impact": "financial",
    "impact_size": "large",
    "exposure": "under_1b",
    "availability": "batch",
    "lifetime": "years",
    "decay": "moderate",
    "explainability": "individual",
    "data_complexity": "several_sources",
    "method_complexity": "ensemble",
    "interpretability": "explainable",
    "bias_potential": "high",
    "model_reliance": "none",
}
# model: (answers, who answers, days ago). credit-logit's annual review is overdue.
DEMO_ANSWERS: dict[str, tuple[dict[str, str], str, int]] = {
    "credit-gbm": (_GBM, "olivia", 20),
    "credit-logit": (
        _GBM
        | {
            "consumers": "internal_many",
            "impact_size": "moderate",
            "exposure": "under_10m",
            "regulation": "personal_data",
            "lifetime": "months",
            "explainability": "global",
            "method_complexity": "linear",
            "interpretability": "transparent",
            "bias_potential": "some",
        },
        "olivia",
        400,
    ),
    "credit-forest": (
        {
            "consumers": "internal_few",
            "deployment_context": "self_service",
            "decisions_about_people": "none",
            "regulation": "personal_data",
            "impact": "financial",
            "impact_size": "small",
            "exposure": "under_100k",
            "availability": "ad_hoc",
            "lifetime": "weeks",
            "decay": "moderate",
            "explainability": "none",
            "data_complexity": "simple",
            "method_complexity": "ensemble",
            "interpretability": "explainable",
            "bias_potential": "low",
            "model_reliance": "none",
        },
        "rita",  # its owner is an ML engineer: the risk manager answers
        30,
    ),
}
OVERRIDE = (
    "credit-gbm",
    "critical",
    "Champion scorecard for every consumer loan: the declines it drives reach the public and "
    "the regulator reviews it yearly; governed as critical whatever the score says.",
)


def seed_risk(session: Session) -> list[dict[str, Any]]:
    """Assess the demo models as their owners did, and override one tier as the risk manager."""
    users = {u.username: u for u in session.exec(select(User)).all()}
    out = []
    for name, (answers, who, days_ago) in DEMO_ANSWERS.items():
        model = find_model(session, name)
        result = assess_model(
            session=session,
            actor=users.get(who) or OPERATOR,
            model_id=model.id,  # type: ignore[arg-type]
            answers=answers,
            at=utcnow() - timedelta(days=days_ago),
        )
        out.append({"model": name, "tier": result.tier})
    name, tier, why = OVERRIDE
    override_tier(
        session=session,
        actor=users["rita"],
        model_id=find_model(session, name).id,  # type: ignore[arg-type]
        tier=tier,
        justification=why,
    )
    return out

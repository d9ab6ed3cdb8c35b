"""Risk assessment: the questionnaire, assessing a model and overriding its tier.

Reading the tier, next review, overdue and "needs review" flags back is
``core.services.risk_records``.

Assessments and overrides are append-only rows (the database refuses changes); the model's
``risk_tier`` and ``next_review_date`` columns hold the effective values for the inventory, and
each change also writes a model snapshot and an audit event. Services flush; the edge commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import InputProblems, NotFound, PermissionDenied
from core.rules.risk import TIERS, next_review_date, score_answers
from core.services.audit import append_event
from core.services.gate_plan import replan_gates
from core.services.permissions import Actor, Operator, Role, require_role, roles_of
from core.services.policy import (
    bind_model,
    bound_version,
    governing_version,
    latest_policy_version,
    pack_of,
    shipped_pack,
)
from core.services.risk_records import basis_of, current_risk, risk_columns, risk_history
from core.tables import (
    OPEN_END,
    ModelEntry,
    ModelSnapshot,
    PolicyVersion,
    RiskAssessment,
    RiskOverride,
    User,
    utcnow,
)

__all__ = [
    "AssessmentResult",
    "assess_model",
    "current_risk",
    "find_model",
    "override_tier",
    "questionnaire",
    "risk_columns",
    "risk_history",
]

# The read side lives in core.services.risk_records; callers may import it from here too.

NOT_OWNER = (
    "{who} may not assess {model}: only its owner ({owner}) or a risk manager answers its "
    "risk questionnaire."
)
NO_JUSTIFICATION = "An override needs a written justification; give --justification TEXT."
NOT_RISK_MANAGER = (
    "{who} may not override a risk tier: only a risk_manager may, with a justification."
)
BAD_TIER = "The tier {tier!r} is unknown; use one of {tiers}."
NOT_ASSESSED = (
    "{model} has no risk assessment to override; assess it first (`gatehouse risk assess`)."
)
UNKNOWN_MODEL = "No model named {name!r}; list them with `gatehouse model list`."
NO_POLICY_TO_ASSESS = "No policy is published yet; run `gatehouse init` before assessing models."


@dataclass(frozen=True)
class AssessmentResult:
    """What an assessment (or override) left in force for a model."""

    model: str
    assessment_id: int
    policy_version: int
    method_version: str
    materiality: float
    complexity: float
    computed_tier: str
    tier: str
    next_review: datetime
    requires: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "assessment_id": self.assessment_id,
            "policy_version": self.policy_version,
            "method_version": self.method_version,
            "scores": {"materiality": self.materiality, "complexity": self.complexity},
            "computed_tier": self.computed_tier,
            "tier": self.tier,
            "next_review": self.next_review.isoformat(),
            "requires": self.requires,
        }


def find_model(session: Session, name: str) -> ModelEntry:
    """A model by name, or NotFound."""
    model = session.exec(select(ModelEntry).where(ModelEntry.name == name)).first()
    if model is None:
        raise NotFound([UNKNOWN_MODEL.format(name=name)])
    return model


def questionnaire(session: Session, model_id: int | None = None) -> list[dict[str, Any]]:
    """The questions (id, text, help, choices least risky first) of the method that would score
    the model (or, without one, the newest published version)."""
    row = governing_version(session, model_id) if model_id is not None else None
    if row is None:
        row = latest_policy_version(session)
    pack = pack_of(row) if row else shipped_pack()
    return [
        {
            "id": q.id,
            "text": q.text,
            "help": q.help,
            "axis": q.axis,
            "choices": [{"value": c.value, "label": c.label} for c in q.choices],
        }
        for q in pack.method.questions
    ]


def _record_model_state(session: Session, model: ModelEntry) -> None:
    """Close the model's open snapshot and append one with its current columns."""
    model.updated_at = utcnow()
    session.add(model)
    session.execute(
        sa.update(ModelSnapshot)
        .where(col(ModelSnapshot.model_id) == model.id, col(ModelSnapshot.valid_to) == OPEN_END)
        .values(valid_to=model.updated_at)
    )
    skip = {"id", "model_id", "valid_from", "valid_to"}
    copied = {k: getattr(model, k) for k in ModelSnapshot.model_fields if k not in skip}
    session.add(ModelSnapshot(model_id=model.id, valid_from=model.updated_at, **copied))  # type: ignore[arg-type]
    session.flush()


def _check_assessor(session: Session, actor: Actor, model: ModelEntry) -> None:
    if isinstance(actor, Operator):
        return
    held = roles_of(session, actor)
    if not actor.is_active or held.isdisjoint({Role.model_owner, Role.risk_manager}):
        require_role(session, actor, "assess model risk", Role.model_owner, Role.risk_manager)
    if Role.risk_manager not in held and model.owner_id != actor.id:
        owner = session.get(User, model.owner_id) if model.owner_id else None
        raise PermissionDenied(
            NOT_OWNER.format(
                who=actor.username, model=model.name, owner=owner.username if owner else "none"
            )
        )


def assess_model(
    *,
    session: Session,
    actor: Actor,
    model_id: int,
    answers: Mapping[str, Any],
    at: datetime | None = None,
) -> AssessmentResult:
    """Score a questionnaire for a model and record it; sets the tier and the next review.

    The model's owner or a risk manager answers (``actor`` None is the operator: the demo).
    A missing or unknown answer gives no tier: InputProblems names the questions. The first
    assessment binds the model to the policy version that scored it. ``at`` backdates the
    assessment (the demo's history); it defaults to now.
    """
    model = session.get(ModelEntry, model_id)
    if model is None:
        raise NotFound([f"No model with id {model_id}; list them with `gatehouse model list`."])
    _check_assessor(session, actor, model)
    bound = bound_version(session, model_id)
    row = bound or latest_policy_version(session)
    if row is None:
        raise InputProblems([NO_POLICY_TO_ASSESS])
    pack = pack_of(row)
    answers = {str(k): str(v) for k, v in answers.items()}
    score = score_answers(pack.method, answers)
    if bound is None:
        bind_model(
            session=session, actor=actor, model_id=model_id, row=row, reason="first risk assessment"
        )
    when = at or utcnow()
    due = next_review_date(when, pack.review_every_days(score.tier))
    assessment = RiskAssessment(
        model_id=model_id,
        version_id=model.current_version_id,
        policy_version_id=row.id,  # type: ignore[arg-type]
        method_version=score.method_version,
        answers_json=json.dumps(answers, sort_keys=True),
        materiality=score.materiality,
        complexity=score.complexity,
        materiality_level=score.materiality_level,
        complexity_level=score.complexity_level,
        computed_tier=score.tier,
        basis_json=json.dumps(basis_of(session, model.current_version_id), sort_keys=True),
        next_review_date=due,
        assessed_by=actor.id if actor else None,
        assessed_at=when,
    )
    session.add(assessment)
    session.flush()
    model.risk_tier, model.next_review_date = score.tier, due
    _record_model_state(session, model)
    replan_gates(session, model.id or 0, "the model's risk tier was assessed again")
    append_event(
        session=session,
        actor=actor,
        action="risk_assessed",
        subject_type="model",
        subject_id=str(model_id),
        details={"assessment_id": assessment.id, "policy_version": row.version, **score.to_dict()},
    )
    return _result(model, assessment, None, row)


def _result(
    model: ModelEntry,
    assessment: RiskAssessment,
    override: RiskOverride | None,
    row: PolicyVersion,
) -> AssessmentResult:
    pack = pack_of(row)
    tier = override.tier if override else assessment.computed_tier
    context = pack.context_of(json.loads(assessment.answers_json))
    return AssessmentResult(
        model=model.name,
        assessment_id=assessment.id,  # type: ignore[arg-type]
        policy_version=row.version,
        method_version=assessment.method_version,
        materiality=assessment.materiality,
        complexity=assessment.complexity,
        computed_tier=assessment.computed_tier,
        tier=override.tier if override else assessment.computed_tier,
        next_review=override.next_review_date if override else assessment.next_review_date,
        requires=pack.gates(tier, context),
    )


def _latest_assessment(session: Session, model_id: int) -> RiskAssessment | None:
    return session.exec(
        select(RiskAssessment)
        .where(RiskAssessment.model_id == model_id)
        .order_by(col(RiskAssessment.id).desc())
        .limit(1)
    ).first()


def _latest_override(session: Session, assessment_id: int) -> RiskOverride | None:
    return session.exec(
        select(RiskOverride)
        .where(RiskOverride.assessment_id == assessment_id)
        .order_by(col(RiskOverride.id).desc())
        .limit(1)
    ).first()


def override_tier(
    *, session: Session, actor: User, model_id: int, tier: str, justification: str
) -> AssessmentResult:
    """A risk manager sets the tier of the current assessment, with a written justification.

    The computed tier stays recorded beside it; the review cadence follows the new tier from the
    assessment's date.
    """
    model = session.get(ModelEntry, model_id)
    if model is None:
        raise NotFound([f"No model with id {model_id}; list them with `gatehouse model list`."])
    allowed = actor.is_active and Role.risk_manager in roles_of(session, actor)
    problems = [] if allowed else [NOT_RISK_MANAGER.format(who=actor.username)]
    if not justification.strip():
        problems.append(NO_JUSTIFICATION)
    if tier not in TIERS:
        problems.append(BAD_TIER.format(tier=tier, tiers=", ".join(TIERS)))
    if problems:
        raise (InputProblems if allowed else PermissionDenied)(problems)
    assessment = _latest_assessment(session, model_id)
    if assessment is None:
        raise InputProblems([NOT_ASSESSED.format(model=model.name)])
    row = session.get(PolicyVersion, assessment.policy_version_id)
    assert row is not None
    due = next_review_date(assessment.assessed_at, pack_of(row).review_every_days(tier))
    override = RiskOverride(
        assessment_id=assessment.id,  # type: ignore[arg-type]
        tier=tier,
        justification=justification.strip(),
        next_review_date=due,
        overridden_by=actor.id,
    )
    session.add(override)
    session.flush()
    model.risk_tier, model.next_review_date = tier, due
    _record_model_state(session, model)
    replan_gates(session, model.id or 0, "a risk manager overrode the model's tier")
    append_event(
        session=session,
        actor=actor,
        action="risk_tier_overridden",
        subject_type="model",
        subject_id=str(model_id),
        details={
            "assessment_id": assessment.id,
            "computed_tier": assessment.computed_tier,
            "tier": tier,
            "justification": override.justification,
        },
    )
    return _result(model, assessment, override, row)

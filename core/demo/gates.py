"""The demo's sign-offs: one model signed off through deployment and in production, the others
with gates in every other state, each act taken by the demo person whose role the policy names.

Every act goes through the real gate service (re-authentication, RACI, segregation of duties,
evidence checks, waivers), and every move through the real promotion, which refuses a stage
whose gates are not approved; so the demo shows what an organisation would see after a few
weeks of work, and could not have been reached by skipping a sign-off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from core.rules.gates import Act
from core.services.evidence import evaluate_version
from core.services.gate_records import WaiverRequest
from core.services.gate_status import refresh_staleness
from core.services.gates import sign_gate
from core.services.inventory import promote_version
from core.services.permissions import OPERATOR
from core.services.users import DEMO_PASSWORD
from core.tables import ModelEntry, User, utcnow

__all__ = ["DEMO_SIGN_OFFS", "DemoAct", "seed_gates", "sign_demo_act"]


@dataclass(frozen=True)
class DemoAct:
    """One signing act of the demo; ``waive`` names the failed check a waiver lets pass."""

    model: str
    gate: str
    act: Act
    who: str
    comment: str
    opinion: str | None = None
    waive: str | None = None


_FAIRNESS_WAIVER = (
    "The synthetic history under-approves young applicants; the bias is documented and "
    "rebalancing waits for a year of new applications."
)
_CONTROLS = "An underwriter reviews every decline of an applicant under 26; monthly report."


def _fairness_waivers(gate: str) -> tuple[DemoAct, ...]:
    return tuple(
        DemoAct("credit-gbm", gate, Act.waive, "rita", _FAIRNESS_WAIVER, waive=check)
        for check in (
            "selection_rate_ratio",
            "demographic_parity_difference",
            "equalized_odds_difference",
        )
    )


DEMO_SIGN_OFFS: tuple[DemoAct, ...] = (
    # credit-gbm (critical: three people at every gate, two risk managers approve validation
    # and deployment): signed off through deployment, its ideation rejected once on the way;
    # its failed fairness checks waived by the risk manager with controls.
    DemoAct("credit-gbm", "business_scoping", Act.submit, "sam", "Underwriting wants ranking."),
    DemoAct(
        "credit-gbm", "business_scoping", Act.opinion, "carla", "Personal data noted.", "concern"
    ),
    DemoAct("credit-gbm", "business_scoping", Act.approve, "rita", "Proceed, with care."),
    DemoAct("credit-gbm", "ideation", Act.submit, "devi", "Bureau and application data."),
    DemoAct("credit-gbm", "ideation", Act.opinion, "carla", "Age is used directly.", "concern"),
    DemoAct("credit-gbm", "ideation", Act.reject, "olivia", "Age is a proxy risk: justify it."),
    DemoAct(
        "credit-gbm",
        "ideation",
        Act.submit,
        "devi",
        "Age kept: it carries repayment signal; its effect is reported by age band.",
    ),
    DemoAct("credit-gbm", "ideation", Act.opinion, "victor", "Justification accepted.", "concur"),
    DemoAct("credit-gbm", "ideation", Act.approve, "olivia", "Justified; proceed."),
    DemoAct("credit-gbm", "development", Act.submit, "devi", "Evidence computed and documented."),
    DemoAct("credit-gbm", "development", Act.opinion, "sam", "Ranks as underwriters do.", "concur"),
    DemoAct("credit-gbm", "development", Act.approve, "olivia", "Built soundly."),
    DemoAct(
        "credit-gbm",
        "validation",
        Act.submit,
        "victor",
        "Independent review done; the age gap is real, see the waiver.",
    ),
    *_fairness_waivers("validation"),
    DemoAct("credit-gbm", "validation", Act.approve, "rita", "Fit for purpose with controls."),
    DemoAct("credit-gbm", "validation", Act.approve, "reza", "Second approval."),
    DemoAct("credit-gbm", "preproduction", Act.submit, "milo", "Verified on production-like data."),
    *_fairness_waivers("preproduction"),
    DemoAct("credit-gbm", "preproduction", Act.opinion, "carla", "Controls in place.", "concur"),
    DemoAct("credit-gbm", "preproduction", Act.approve, "victor", "Behaves as validated."),
    DemoAct("credit-gbm", "deployment", Act.submit, "milo", "Shadow for a month, then canary."),
    DemoAct("credit-gbm", "deployment", Act.approve, "rita", "Go live."),
    DemoAct("credit-gbm", "deployment", Act.approve, "reza", "Go live; monitoring owner milo."),
    # credit-logit (medium): scoping and development approved; development goes stale later.
    DemoAct("credit-logit", "business_scoping", Act.submit, "sam", "Challenger to the scorecard."),
    DemoAct("credit-logit", "business_scoping", Act.approve, "olivia", "Agreed."),
    DemoAct("credit-logit", "development", Act.submit, "devi", "Logistic regression, documented."),
    DemoAct("credit-logit", "development", Act.approve, "olivia", "Approved for validation."),
    # credit-forest (low tier, a self-service analysis: no deployment gates): signed off for
    # preproduction; its monitoring plan rejected.
    DemoAct("credit-forest", "business_scoping", Act.submit, "sam", "Collections asked for it."),
    DemoAct("credit-forest", "business_scoping", Act.approve, "olivia", "Worth a trial."),
    DemoAct("credit-forest", "development", Act.submit, "devi", "Evidence computed."),
    DemoAct("credit-forest", "development", Act.approve, "olivia", "Good enough to trial."),
    DemoAct("credit-forest", "monitoring", Act.submit, "milo", "Quarterly look at call outcomes."),
    DemoAct(
        "credit-forest",
        "monitoring",
        Act.reject,
        "olivia",
        "No labelled outcomes are collected yet: add them to the plan.",
    ),
)


def _version_id(session: Session, name: str) -> int:
    model = session.exec(select(ModelEntry).where(ModelEntry.name == name)).one()
    assert model.current_version_id is not None
    return model.current_version_id


def sign_demo_act(session: Session, users: Mapping[str, User], step: DemoAct) -> None:
    waiver = (
        WaiverRequest(step.waive, step.comment, _CONTROLS, utcnow() + timedelta(days=180))
        if step.waive
        else None
    )
    sign_gate(
        session=session,
        actor=users[step.who],
        version_id=_version_id(session, step.model),
        gate_id=step.gate,
        act=step.act,
        password=DEMO_PASSWORD,
        meaning=f"I {step.act.value} the {step.gate.replace('_', ' ')} gate of {step.model}",
        comment=step.comment,
        opinion=step.opinion,
        waiver=waiver,
    )
    session.commit()


def seed_gates(session: Session, stages: Mapping[str, Sequence[str]]) -> None:
    """Take the demo's signing acts, promote each model through ``stages`` (which its gates
    now allow), make one approval stale by computing newer evidence after it, and leave one
    validation submitted."""
    users = {u.username: u for u in session.exec(select(User)).all()}
    for step in DEMO_SIGN_OFFS:
        sign_demo_act(session, users, step)
    for name, moves in stages.items():
        for stage in moves:
            promote_version(
                session=session,
                actor=users["milo"],
                version_id=_version_id(session, name),
                stage=stage,
                reason="signed off",
            )
        session.commit()
    logit = _version_id(session, "credit-logit")
    evaluate_version(session=session, actor=OPERATOR, version_id=logit, threshold=0.45)
    refresh_staleness(session, logit, reason="newer performance evidence at threshold 0.45")
    session.commit()
    sign_demo_act(
        session,
        users,
        DemoAct(
            "credit-logit",
            "validation",
            Act.submit,
            "victor",
            "Independent review done; see the fairness evidence.",
        ),
    )

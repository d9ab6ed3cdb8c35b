"""The demo's sign-offs: one model signed off and promoted, and gates
in every other state, each act taken by the demo person whose role the policy names.

Every act goes through the real gate service (re-authentication, RACI, segregation of duties,
evidence checks), so the demo shows what an organisation would see after a few weeks of work.
"""

from __future__ import annotations

from sqlmodel import Session, select

from core.rules.gates import Act
from core.services.evidence import evaluate_version
from core.services.gate_status import refresh_staleness
from core.services.gates import sign_gate
from core.services.inventory import promote_version
from core.services.permissions import OPERATOR
from core.services.users import DEMO_PASSWORD
from core.tables import ModelEntry, User

__all__ = ["DEMO_SIGN_OFFS", "seed_gates"]

# (model, gate, act, who, comment, opinion)
DEMO_SIGN_OFFS: tuple[tuple[str, str, Act, str, str, str | None], ...] = (
    # credit-forest (low tier, a self-service analysis: no deployment gates): signed off and
    # promoted to preproduction; its monitoring gate is open.
    ("credit-forest", "business_scoping", Act.submit, "sam", "Collections asked for it.", None),
    ("credit-forest", "business_scoping", Act.approve, "olivia", "Worth a trial.", None),
    ("credit-forest", "development", Act.submit, "devi", "Evidence computed.", None),
    ("credit-forest", "development", Act.approve, "olivia", "Good enough to deploy.", None),
    # credit-logit (medium): scoping approved, development approved and then gone stale.
    ("credit-logit", "business_scoping", Act.submit, "sam", "Challenger to the scorecard.", None),
    ("credit-logit", "business_scoping", Act.approve, "olivia", "Agreed.", None),
    ("credit-logit", "development", Act.submit, "devi", "Logistic regression, documented.", None),
    ("credit-logit", "development", Act.approve, "olivia", "Approved for validation.", None),
    # credit-gbm (critical): scoping approved with opinions, ideation rejected with reasons.
    ("credit-gbm", "business_scoping", Act.submit, "sam", "Underwriting wants ranking.", None),
    ("credit-gbm", "business_scoping", Act.opinion, "carla", "Personal data noted.", "concern"),
    ("credit-gbm", "business_scoping", Act.approve, "rita", "Proceed, with care.", None),
    ("credit-gbm", "ideation", Act.submit, "devi", "Bureau and application data.", None),
    ("credit-gbm", "ideation", Act.reject, "olivia", "Age is a proxy risk: justify it.", None),
)


def _version_id(session: Session, name: str) -> int:
    model = session.exec(select(ModelEntry).where(ModelEntry.name == name)).one()
    assert model.current_version_id is not None
    return model.current_version_id


def seed_gates(session: Session) -> None:
    """Take the demo's signing acts, promote the signed-off model, make one approval
    stale by computing newer evidence after it, and leave one validation submitted."""
    users = {u.username: u for u in session.exec(select(User)).all()}
    for name, gate, act, who, comment, opinion in DEMO_SIGN_OFFS:
        sign_gate(
            session=session,
            actor=users[who],
            version_id=_version_id(session, name),
            gate_id=gate,
            act=act,
            password=DEMO_PASSWORD,
            meaning=f"I {act.value} the {gate.replace('_', ' ')} gate of {name}",
            comment=comment,
            opinion=opinion,
        )
        session.commit()
    forest = _version_id(session, "credit-forest")
    # Preproduction, not production: credit-gbm stays the one production model of the demo, the
    # one pages open on when nothing is chosen.
    for stage in ("qa", "preproduction"):
        promote_version(
            session=session,
            actor=users["milo"],
            version_id=forest,
            stage=stage,
            reason="signed off",
        )
    logit = _version_id(session, "credit-logit")
    evaluate_version(session=session, actor=OPERATOR, version_id=logit, threshold=0.45)
    refresh_staleness(session, logit, reason="newer performance evidence at threshold 0.45")
    session.commit()
    sign_gate(
        session=session,
        actor=users["victor"],
        version_id=logit,
        gate_id="validation",
        act=Act.submit,
        password=DEMO_PASSWORD,
        meaning="I submit the validation gate of credit-logit",
        comment="Independent review done; see the fairness evidence.",
    )
    session.commit()

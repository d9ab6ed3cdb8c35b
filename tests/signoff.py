"""Signing a version's gates off through the real services, for tests that promote a version.

Promotion needs the gates the policy ties to the move approved, whatever the caller; a test that
needs a version in qa or production signs its gates first with ``sign_off``. Every act goes
through ``sign_gate`` (re-authentication, RACI, segregation of duties, evidence checks), taken
by users who hold the role the gate names: existing users whose password is ``password`` when
there are enough of them, otherwise signers created for the purpose.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, col, select

from core.demo.seed import DEMO_PASSWORD
from core.errors import GateBlocked
from core.rules.gates import Act, GateSpec, GateState, Opinion, plan_from_pack_tier
from core.services.auth import verify_password
from core.services.gate_status import check_promotion
from core.services.gates import gate_spec, gates_of, open_gates, sign_gate
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import ModelEntry, ModelVersion, User, UserRole

__all__ = ["SIGN_OFF_TIER", "sign_off"]

#: The gates a version gets when it has none yet: one per stage, no evidence required, so a test
#: about something else can promote without computing evidence. Segregation rules as shipped.
SIGN_OFF_TIER = {
    "segregation": {
        "registrant_may_not_approve_validation": True,
        "validator_differs_from_developer": True,
        "min_distinct_people_per_gate": 2,
    },
    "gates": [
        {"id": "business_scoping", "responsible": ["sme"], "accountable": "model_owner"},
        {
            "id": "development",
            "responsible": ["developer"],
            "accountable": "model_owner",
            "unlocks_stage": "qa",
        },
        {
            "id": "validation",
            "responsible": ["validator"],
            "accountable": "risk_manager",
            "consulted": ["compliance"],
            "unlocks_stage": "preproduction",
        },
        {
            "id": "deployment",
            "responsible": ["ml_engineer"],
            "accountable": "risk_manager",
            "unlocks_stage": "production",
        },
    ],
}


def sign_off(
    session: Session, version_id: int, up_to_stage: str, *, password: str = DEMO_PASSWORD
) -> None:
    """Sign every gate the move to ``up_to_stage`` needs, in order, and commit each act.

    A version without gates gets ``SIGN_OFF_TIER``'s. Gates already approved are left alone.
    Raises GateBlocked when a gate cannot be approved (its evidence fails, say).
    """
    session.commit()  # signing commits each act; start from what the test already has
    if not gates_of(session, version_id):
        open_gates(
            session=session,
            version_id=version_id,
            plan=plan_from_pack_tier(SIGN_OFF_TIER),
            policy_version=None,
            tier=None,
        )
        session.commit()
    for position in range(len(gates_of(session, version_id))):
        try:
            check_promotion(session, version_id, up_to_stage)
            break
        except GateBlocked:
            gate = gates_of(session, version_id)[position]
            if gate.state != GateState.approved:
                _approve(session, version_id, gate.gate_id, gate_spec(gate), gate.state, password)
    check_promotion(session, version_id, up_to_stage)
    session.rollback()  # end the read, so SQLite's lock is free for the app or command next


def _approve(
    session: Session, version_id: int, gate_id: str, spec: GateSpec, state: str, password: str
) -> None:
    version = session.get(ModelVersion, version_id)
    assert version is not None
    model = session.get(ModelEntry, version.model_id)
    makers = {version.registered_by, model.developer_id if model else None} - {None}
    # The validation gate's submitter and approvers must not have built the version.
    avoid = makers if spec.gate_id == "validation" else set()
    acted: set[int] = set()

    def act(who: User, what: Act, **kw: object) -> None:
        sign_gate(
            session=session,
            actor=who,
            version_id=version_id,
            gate_id=gate_id,
            act=what,
            password=password,
            meaning=f"I {what.value} the {spec.title.lower()} gate",
            **kw,  # type: ignore[arg-type]
        )
        session.commit()
        acted.add(who.id or 0)

    if state != GateState.submitted:
        act(_people(session, spec.responsible, 1, avoid, password)[0], Act.submit)
    approvers = _people(session, (spec.accountable,), spec.approvers, avoid | acted, password)
    missing = spec.segregation.min_distinct_people_per_gate - len(acted) - len(approvers)
    if missing > 0 and spec.consulted:
        taken = avoid | acted | {a.id for a in approvers}
        for who in _people(session, spec.consulted, missing, taken, password):
            act(who, Act.opinion, opinion=Opinion.concur.value)
    for who in approvers:
        act(who, Act.approve)


def _people(
    session: Session, roles: Collection[str], n: int, avoid: Collection[int | None], password: str
) -> list[User]:
    """``n`` active users holding one of ``roles`` and signing with ``password``, created as
    needed; never one in ``avoid``."""
    rows = session.exec(
        select(User)
        .join(UserRole, col(UserRole.user_id) == col(User.id))
        .where(col(UserRole.role).in_(list(roles)), col(User.is_active))
        .order_by(col(User.id))
    ).all()
    found: list[User] = []
    for user in {u.id: u for u in rows}.values():
        if len(found) == n:
            break
        if user.id in avoid or user.password_hash is None:
            continue
        if verify_password(password, user.password_hash)[0]:
            found.append(user)
    role = next(iter(roles))
    while len(found) < n:
        number = len(session.exec(select(User.id)).all()) + 1
        found.append(
            add_user(
                session=session,
                actor=OPERATOR,
                username=f"signer-{role.replace('_', '-')}-{number}",
                password=password,
                roles=[role],
            )
        )
        session.commit()
    return found

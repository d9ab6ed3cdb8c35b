"""Segregation of duties and RACI, pure: may this person take this act on this gate, and in
which role? Each refusal is one sentence that names the rule, so the audit trail and the user
read the same reason. Admins get no exemption."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.rules.gates import Act, GateSpec

__all__ = [
    "ALREADY_APPROVED",
    "MIN_PEOPLE",
    "NOT_IN_RACI",
    "ROLE_NOT_HELD",
    "SOD_REGISTRANT_VALIDATION",
    "SOD_SUBMIT_APPROVE",
    "SOD_VALIDATOR_DEVELOPER",
    "ActorFacts",
    "PriorAct",
    "check_act",
    "roles_for_act",
]

ROLE_NOT_HELD = (
    "{who} may not act as {role}: it is not one of their roles ({held}); act in a role you hold."
)
NOT_IN_RACI = (
    "The {gate} gate does not let {who} {verb}: it needs the role {needed}, and {who} has {held}."
)
SOD_REGISTRANT_VALIDATION = (
    "Segregation of duties: the registrant or developer of a version may not approve its "
    "validation gate."
)
SOD_VALIDATOR_DEVELOPER = (
    "Segregation of duties: the validator must differ from the developer; {who} developed or "
    "registered this version, so another validator must submit its validation."
)
SOD_SUBMIT_APPROVE = (
    "Segregation of duties: one person cannot both submit and approve the same gate; "
    "{who} submitted it."
)
ALREADY_APPROVED = (
    "{who} has already approved this gate; it needs {n} different approvers, so another "
    "{role} must approve."
)
MIN_PEOPLE = (
    "Segregation of duties: the {gate} gate needs at least {n} different people across it and "
    "only {k} have acted; another Consulted person's opinion or another approver is needed first."
)

_VERBS = {
    Act.submit: "submit it",
    Act.opinion: "give an opinion on it",
    Act.approve: "approve it",
    Act.reject: "reject it",
}


@dataclass(frozen=True)
class PriorAct:
    """An act already taken on the gate in its current round."""

    actor_id: int
    act: Act


@dataclass(frozen=True)
class ActorFacts:
    """What the rules need to know about the person acting and the version."""

    actor_id: int
    username: str
    roles: frozenset[str]
    registrant_id: int | None
    developer_id: int | None


def roles_for_act(spec: GateSpec, act: Act) -> tuple[str, ...]:
    """The RACI roles that may take this act on the gate."""
    if act is Act.submit:
        return spec.responsible
    if act is Act.opinion:
        return spec.consulted
    if act in (Act.approve, Act.reject):
        return (spec.accountable,)
    return ()


def _choose_role(facts: ActorFacts, spec: GateSpec, act: Act, role: str | None) -> str | str:
    allowed = roles_for_act(spec, act)
    held = ", ".join(sorted(facts.roles)) or "no role"
    if role is not None:
        if role not in facts.roles:
            raise _Refusal(ROLE_NOT_HELD.format(who=facts.username, role=role, held=held))
        if role not in allowed:
            raise _Refusal(_not_in_raci(facts, spec, act, allowed))
        return role
    for candidate in allowed:
        if candidate in facts.roles:
            return candidate
    raise _Refusal(_not_in_raci(facts, spec, act, allowed))


def _not_in_raci(facts: ActorFacts, spec: GateSpec, act: Act, allowed: Sequence[str]) -> str:
    return NOT_IN_RACI.format(
        gate=spec.title,
        who=facts.username,
        verb=_VERBS.get(act, act.value),
        needed=" or ".join(allowed) or "(none: nobody has this part at this gate)",
        held=", ".join(sorted(facts.roles)) or "no role",
    )


class _Refusal(Exception):
    pass


def check_act(
    facts: ActorFacts,
    spec: GateSpec,
    act: Act,
    prior: Iterable[PriorAct],
    *,
    role: str | None = None,
) -> tuple[str | None, str | None]:
    """(the role the person acts in, None) when allowed, else (None, the refusal sentence).

    ``prior`` are the acts of the gate's current round (since it last opened, was rejected or
    went stale), so that "submit and approve" and "N different approvers" count within one round.
    """
    try:
        chosen = _choose_role(facts, spec, act, role)
    except _Refusal as refusal:
        return None, str(refusal)
    prior = list(prior)
    me = facts.actor_id
    seg = spec.segregation
    makers = {facts.registrant_id, facts.developer_id} - {None}
    if spec.gate_id == "validation":
        if act is Act.submit and seg.validator_differs_from_developer and me in makers:
            return None, SOD_VALIDATOR_DEVELOPER.format(who=facts.username)
        if act is Act.approve and seg.registrant_may_not_approve_validation and me in makers:
            return None, SOD_REGISTRANT_VALIDATION
    if act is Act.approve:
        if any(p.actor_id == me and p.act is Act.submit for p in prior):
            return None, SOD_SUBMIT_APPROVE.format(who=facts.username)
        if any(p.actor_id == me and p.act is Act.approve for p in prior):
            return None, ALREADY_APPROVED.format(
                who=facts.username, n=spec.approvers, role=spec.accountable
            )
        approvals = {p.actor_id for p in prior if p.act is Act.approve}
        if len(approvals) + 1 >= spec.approvers:  # this approval would close the gate
            people = {p.actor_id for p in prior} | {me}
            if len(people) < seg.min_distinct_people_per_gate:
                return None, MIN_PEOPLE.format(
                    gate=spec.title, n=seg.min_distinct_people_per_gate, k=len(people)
                )
    return chosen, None

"""Gate rules, pure: the workflow's states and moves, and each gate's RACI as the policy gives it.

A gate is one lifecycle step of one version. Its specification (who is Responsible, the one
Accountable role, who is Consulted and Informed, how many approvers, which evidence) comes from
the policy pack of the model's tier, copied into the gate when it opens so that a later policy
version never silently changes a gate in flight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "GATE_IDS",
    "GATE_TITLES",
    "Act",
    "EvidenceRequirement",
    "GateSpec",
    "GateState",
    "Opinion",
    "Segregation",
    "next_state",
    "rollup_status",
]

#: The lifecycle gates, in order (identifiers used by the policy, the CLI and URLs).
GATE_IDS = (
    "business_scoping",
    "ideation",
    "development",
    "validation",
    "preproduction",
    "deployment",
    "monitoring",
)
GATE_TITLES = {
    "business_scoping": "Business scoping",
    "ideation": "Ideation",
    "development": "Development",
    "validation": "Validation",
    "preproduction": "Preproduction",
    "deployment": "Deployment",
    "monitoring": "Monitoring and periodic review",
}


class GateState(StrEnum):
    """Where a gate stands. ``rejected`` is in progress again, with the reasons to address."""

    not_started = "not started"
    in_progress = "in progress"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    stale = "stale"


def rollup_status(states: Sequence[str]) -> str:
    """A version's gates in a few words: "not opened", "stale", "all approved", "n of m approved"."""
    if not states:
        return "not opened"
    if GateState.stale.value in states:
        return "stale"
    done = sum(s == GateState.approved for s in states)
    return "all approved" if done == len(states) else f"{done} of {len(states)} approved"


class Act(StrEnum):
    """What a person (or the system) does to a gate; each is one row and one audit event."""

    submit = "submit"
    opinion = "opinion"
    approve = "approve"
    reject = "reject"
    waive = "waive"
    open = "open"
    stale = "stale"


class Opinion(StrEnum):
    """A Consulted person's view."""

    concur = "concur"
    concern = "concern"
    object = "object"


@dataclass(frozen=True)
class EvidenceRequirement:
    """One piece of evidence a gate needs, as the policy states it."""

    kind: str
    stale_after_days: int | None = None
    metrics: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stale_after_days": self.stale_after_days,
            "metrics": list(self.metrics),
            "checks": list(self.checks),
            "fields": list(self.fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvidenceRequirement:
        return cls(
            kind=str(data["kind"]),
            stale_after_days=data.get("stale_after_days"),
            metrics=tuple(data.get("metrics") or ()),
            checks=tuple(data.get("checks") or ()),
            fields=tuple(data.get("fields") or ()),
        )


@dataclass(frozen=True)
class Segregation:
    """The segregation-of-duties rules of a tier; a pack may relax one, visibly."""

    registrant_may_not_approve_validation: bool = True
    validator_differs_from_developer: bool = True
    min_distinct_people_per_gate: int = 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "registrant_may_not_approve_validation": self.registrant_may_not_approve_validation,
            "validator_differs_from_developer": self.validator_differs_from_developer,
            "min_distinct_people_per_gate": self.min_distinct_people_per_gate,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Segregation:
        data = data or {}
        return cls(
            registrant_may_not_approve_validation=bool(
                data.get("registrant_may_not_approve_validation", True)
            ),
            validator_differs_from_developer=bool(
                data.get("validator_differs_from_developer", True)
            ),
            min_distinct_people_per_gate=int(data.get("min_distinct_people_per_gate", 2)),
        )


@dataclass(frozen=True)
class GateSpec:
    """One gate as the governing policy defines it for the model's tier."""

    gate_id: str
    responsible: tuple[str, ...]
    accountable: str
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()
    approvers: int = 1
    objection_blocks: bool = False
    unlocks_stage: str | None = None
    evidence: tuple[EvidenceRequirement, ...] = ()
    segregation: Segregation = field(default_factory=Segregation)

    @property
    def title(self) -> str:
        return GATE_TITLES.get(self.gate_id, self.gate_id.replace("_", " ").capitalize())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.gate_id,
            "responsible": list(self.responsible),
            "accountable": self.accountable,
            "consulted": list(self.consulted),
            "informed": list(self.informed),
            "approvers": self.approvers,
            "consulted_objection_blocks": self.objection_blocks,
            "unlocks_stage": self.unlocks_stage,
            "evidence": [e.to_dict() for e in self.evidence],
            "segregation": self.segregation.to_dict(),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], segregation: Mapping[str, Any] | None = None
    ) -> GateSpec:
        """A gate from a policy pack's gate entry (the same field names as the pack's YAML)."""
        return cls(
            gate_id=str(data["id"]),
            responsible=tuple(data.get("responsible") or ()),
            accountable=str(data["accountable"]),
            consulted=tuple(data.get("consulted") or ()),
            informed=tuple(data.get("informed") or ()),
            approvers=int(data.get("approvers") or 1),
            objection_blocks=bool(data.get("consulted_objection_blocks", False)),
            unlocks_stage=data.get("unlocks_stage"),
            evidence=tuple(EvidenceRequirement.from_dict(e) for e in data.get("evidence") or ()),
            segregation=Segregation.from_dict(segregation or data.get("segregation")),
        )


def plan_from_pack_tier(tier: Mapping[str, Any]) -> list[GateSpec]:
    """The gates of one tier of a policy pack, in order, with the tier's segregation rules."""
    return [GateSpec.from_dict(g, tier.get("segregation")) for g in tier.get("gates") or ()]


# The workflow: (state, act) -> state. Anything not listed does not exist.
_MOVES: dict[tuple[GateState, Act], GateState] = {
    (GateState.not_started, Act.open): GateState.in_progress,
    (GateState.in_progress, Act.submit): GateState.submitted,
    (GateState.rejected, Act.submit): GateState.submitted,
    (GateState.stale, Act.submit): GateState.submitted,
    (GateState.submitted, Act.opinion): GateState.submitted,
    (GateState.submitted, Act.approve): GateState.approved,  # once enough approvers have signed
    (GateState.submitted, Act.reject): GateState.rejected,
    (GateState.submitted, Act.waive): GateState.submitted,
    (GateState.in_progress, Act.waive): GateState.in_progress,
    (GateState.rejected, Act.waive): GateState.rejected,
    (GateState.stale, Act.waive): GateState.stale,
    (GateState.approved, Act.stale): GateState.stale,
    (GateState.submitted, Act.stale): GateState.in_progress,
}


def next_state(state: GateState, act: Act) -> GateState | None:
    """The state an act leads to, or None when the workflow has no such move."""
    return _MOVES.get((state, act))


def allowed_acts(state: GateState) -> Sequence[Act]:
    """The acts a person may take on a gate in this state."""
    return [a for (s, a) in _MOVES if s == state and a not in (Act.open, Act.stale)]

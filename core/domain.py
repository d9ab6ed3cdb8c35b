"""Domain values with one spelling each: stages, evidence kinds, job states, check statuses,
and the type, severity and status of a finding.

Each is a ``StrEnum``, so a member equals its text (``Stage.production == "production"``) and
is stored, compared and shown as that text; code names the member instead of retyping the word.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CheckStatus",
    "EvidenceKind",
    "FindingSeverity",
    "FindingStatus",
    "FindingType",
    "JobState",
    "Stage",
]


class Stage(StrEnum):
    """Where a model version stands in its lifecycle, in promotion order."""

    development = "development"
    qa = "qa"
    preproduction = "preproduction"
    production = "production"
    retired = "retired"


class EvidenceKind(StrEnum):
    """What a piece of evidence is about."""

    performance = "performance"
    fairness = "fairness"
    explanation = "explanation"
    drift = "drift"
    monitoring = "monitoring"


class JobState(StrEnum):
    """The life of a background job: queued, then running, then done or failed."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class CheckStatus(StrEnum):
    """The outcome of one check against a threshold.

    ``inconclusive``: the point estimate is on one side of the threshold but its confidence
    interval reaches the other side, so chance alone could turn the outcome around.
    ``insufficient_data``: the check cannot be made (too few eligible groups, an undefined value).
    """

    passed = "pass"
    failed = "fail"
    inconclusive = "inconclusive"
    insufficient_data = "insufficient_data"


class FindingType(StrEnum):
    """What kind of problem a finding records, and so who typically raises it.

    ``business``: an SME's result that does not match business expectations; ``validation``,
    ``limitation`` and ``policy_exception``: a validator's record; ``drift``, ``performance``
    and ``kpi``: raised by production monitoring.
    """

    business = "business"
    validation = "validation"
    limitation = "limitation"
    policy_exception = "policy_exception"
    drift = "drift"
    performance = "performance"
    kpi = "kpi"


class FindingSeverity(StrEnum):
    """How bad a finding is, in increasing order; high and critical block gate approvals."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class FindingStatus(StrEnum):
    """Where a finding stands: open and in remediation count as open; the other two close it."""

    open = "open"
    in_remediation = "in_remediation"
    resolved = "resolved"
    risk_accepted = "risk_accepted"

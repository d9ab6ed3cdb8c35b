"""Domain values with one spelling each: stages, evidence kinds, job states, check statuses.

Each is a ``StrEnum``, so a member equals its text (``Stage.production == "production"``) and
is stored, compared and shown as that text; code names the member instead of retyping the word.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CheckStatus", "EvidenceKind", "JobState", "Stage"]


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

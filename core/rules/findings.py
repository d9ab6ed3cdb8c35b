"""Judgements about findings: which status moves are allowed, which ones need a risk manager's
signature, and which findings block gate approvals. Pure: plain values in, answers out."""

from __future__ import annotations

from typing import Final

from core.domain import FindingSeverity, FindingStatus

__all__ = [
    "BLOCKING_SEVERITIES",
    "OPEN_STATUSES",
    "TRANSITIONS",
    "blocks_gates",
    "is_open",
    "needs_risk_manager",
    "needs_signature",
    "transition_allowed",
]

#: Severities whose open findings block every gate approval of the version.
BLOCKING_SEVERITIES: Final = frozenset({FindingSeverity.high, FindingSeverity.critical})
#: Statuses in which a finding still counts as open (it blocks, it can be overdue).
OPEN_STATUSES: Final = frozenset({FindingStatus.open, FindingStatus.in_remediation})

#: Status moves a finding may make. A closed finding may be reopened when the problem returns
#: or a risk acceptance no longer holds; nothing else leaves a closed status.
TRANSITIONS: Final[dict[FindingStatus, frozenset[FindingStatus]]] = {
    FindingStatus.open: frozenset(
        {FindingStatus.in_remediation, FindingStatus.resolved, FindingStatus.risk_accepted}
    ),
    FindingStatus.in_remediation: frozenset(
        {FindingStatus.open, FindingStatus.resolved, FindingStatus.risk_accepted}
    ),
    FindingStatus.resolved: frozenset({FindingStatus.open}),
    FindingStatus.risk_accepted: frozenset({FindingStatus.open}),
}


def is_open(status: str) -> bool:
    """Whether a finding in this status is still open."""
    return status in OPEN_STATUSES


def blocks_gates(status: str, severity: str) -> bool:
    """Whether a finding blocks gate approvals: open, and high or critical."""
    return is_open(status) and severity in BLOCKING_SEVERITIES


def transition_allowed(current: str, new: str) -> bool:
    """Whether a finding may move from ``current`` to ``new`` status."""
    return FindingStatus(new) in TRANSITIONS[FindingStatus(current)]


def needs_signature(*, status: str, severity: str, new_status: str, new_severity: str) -> bool:
    """Whether a change is a signing act by a risk manager (re-authentication and meaning).

    Closing (resolving, accepting the risk of) a high or critical finding is one; so is lowering
    an open finding's severity below high, which would otherwise let it close unsigned.
    """
    blocking = is_open(status) and severity in BLOCKING_SEVERITIES
    closes = new_status != status and not is_open(new_status)
    lowers = new_severity not in BLOCKING_SEVERITIES
    return blocking and (closes or lowers)


def needs_risk_manager(*, status: str, new_status: str) -> bool:
    """Accepting a risk, of any severity, is a risk manager's decision."""
    return new_status != status and new_status == FindingStatus.risk_accepted

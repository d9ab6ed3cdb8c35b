"""Liveness and readiness, for load balancers and process supervisors.

Alive means the process answers. Ready means it can serve: the database is reachable and at the
schema revision this code expects. A broken instance (database down, schema behind or ahead)
reports not ready, so a load balancer takes it out of rotation while it keeps running.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.db import current_revision, head_revision
from core.errors import DatabaseProblem

__all__ = ["Readiness", "readiness"]

SCHEMA_MISMATCH = (
    "The database is at schema revision {found}, this Gatehouse expects {expected}; run "
    "`gatehouse init` (or deploy the matching Gatehouse)."
)


@dataclass(frozen=True)
class Readiness:
    """Whether this process can serve, and why not."""

    ready: bool
    database_reachable: bool
    schema: str | None
    expected_schema: str
    problem: str | None = None

    @classmethod
    def unreachable(cls, problem: str) -> Readiness:
        """Not ready because the database could not be asked (an error, or no answer in time)."""
        return cls(False, False, None, head_revision(), problem)

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not ready", **asdict(self)}


def readiness(url: str | None = None) -> Readiness:
    """Check the database (default: the configured one): reachable, and exactly at head."""
    expected = head_revision()
    try:
        found = current_revision(url)
    except DatabaseProblem as err:
        return Readiness.unreachable(" ".join(err.problems))
    if found != expected:
        problem = SCHEMA_MISMATCH.format(found=found or "none", expected=expected)
        return Readiness(False, True, found, expected, problem)
    return Readiness(True, True, found, expected)

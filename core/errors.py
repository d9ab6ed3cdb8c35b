"""Domain errors. Each carries one or more human sentences naming the problem and the fix."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AuthenticationFailed",
    "DatabaseProblem",
    "GateBlocked",
    "GatehouseError",
    "InputProblems",
    "NotFound",
    "PermissionDenied",
    "SegregationOfDuties",
]


class GatehouseError(Exception):
    """Base of every error a user may see; ``problems`` lists its sentences."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ".join(self.problems))


class InputProblems(GatehouseError):
    """The input is wrong; every problem found is listed, not only the first."""


class PermissionDenied(GatehouseError):
    """The acting user's roles do not allow the action."""


class SegregationOfDuties(PermissionDenied):
    """The action would let one person hold two roles that must stay apart."""


class GateBlocked(GatehouseError):
    """A gate's requirements are not met."""


class NotFound(GatehouseError):
    """A named thing does not exist."""


class AuthenticationFailed(GatehouseError):
    """A sign-in was refused; deliberately the same for an unknown user, a wrong password, and a
    locked or deactivated account."""


class DatabaseProblem(GatehouseError):
    """The database is missing, unreachable or at an unexpected schema revision."""

"""Checks of the options every metric takes (task, bootstrap replicates, seed, confidence level).

Each check appends one sentence per problem, so a caller reports every problem at once.
"""

from __future__ import annotations

from typing import Any, Literal

from core.metrics.plain import is_whole

__all__ = [
    "BAD_CI",
    "BAD_N_BOOT",
    "BAD_SEED",
    "TASKS",
    "UNKNOWN_TASK",
    "Task",
    "check_bootstrap_options",
    "check_task",
]

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")

UNKNOWN_TASK = "task is {task!r}; use 'classification' or 'regression'."
BAD_N_BOOT = (
    "n_boot is {value!r}; pass a whole number of bootstrap replicates, 0 to skip intervals."
)
BAD_SEED = "seed is {value!r}; pass a non-negative whole number."
BAD_CI = "ci is {value!r}; pass a confidence level strictly between 0 and 1, e.g. 0.95."


def check_task(task: Any, problems: list[str]) -> None:
    """Record a task that is neither classification nor regression."""
    if task not in TASKS:
        problems.append(UNKNOWN_TASK.format(task=task))


def check_bootstrap_options(*, n_boot: Any, seed: Any, ci: Any, problems: list[str]) -> None:
    """Record unusable bootstrap options: replicates, seed, confidence level."""
    if not is_whole(n_boot) or n_boot < 0:
        problems.append(BAD_N_BOOT.format(value=n_boot))
    if not is_whole(seed) or seed < 0:
        problems.append(BAD_SEED.format(value=seed))
    if not isinstance(ci, float | int) or not 0 < ci < 1:
        problems.append(BAD_CI.format(value=ci))

"""Which gates a stage needs: every gate up to the last one that unlocks that stage or an
earlier one. Pure, so the dashboard and promotion read one rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["PROMOTION_STAGES", "gates_needed_for"]

#: The stages a version is promoted through, in order (retired is outside the order).
PROMOTION_STAGES: Final = ("development", "qa", "preproduction", "production")


def gates_needed_for(unlocks: Sequence[str | None], stage: str) -> int:
    """How many leading gates (in position order) must be approved before ``stage``.

    ``unlocks`` holds each gate's ``unlocks_stage`` in position order. A gate after the last
    one unlocking ``stage`` or an earlier stage (periodic monitoring, say) is not needed.

    >>> gates_needed_for(["", "qa", None, "production", None], "production")
    4
    >>> gates_needed_for([None, "qa"], "development")
    0
    """
    if stage not in PROMOTION_STAGES:
        return 0
    rank = PROMOTION_STAGES.index(stage)
    last = -1
    for position, unlocked in enumerate(unlocks):
        if unlocked in PROMOTION_STAGES and PROMOTION_STAGES.index(unlocked) <= rank:
            last = position
    return last + 1

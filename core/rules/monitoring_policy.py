"""The monitoring thresholds of a policy pack: what counts as drift or decay in production.

Each tier's ``thresholds.monitoring`` block names, with its basis, the largest population
stability index, Kolmogorov–Smirnov statistic, rise in missing values, share of values outside
the operating range and share of unseen categories a production batch may show, the largest
fall of a metric from its evaluation figure once labels arrive, and whether a crossing reopens
the monitoring gate. A pack written before monitoring existed gets these defaults.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MONITORING",
    "MONITORING_THRESHOLDS",
    "MonitoringPolicy",
    "monitoring_policy",
    "monitoring_problems",
]

#: Threshold → (kind of value, may be null). "ratio" lies in [0, 1]; "positive" is above 0.
MONITORING_THRESHOLDS: dict[str, tuple[str, bool]] = {
    "max_psi": ("positive", True),
    "max_ks_statistic": ("ratio", True),
    "min_ks_pvalue": ("ratio", True),
    "min_chi2_pvalue": ("ratio", True),
    "max_missing_rate_increase": ("ratio", True),
    "max_out_of_range_share": ("ratio", True),
    "max_unseen_category_share": ("ratio", True),
    "max_metric_drop": ("ratio", True),
    "reopen_gate": ("bool", False),
}

DEFAULT_MONITORING: dict[str, dict[str, Any]] = {
    "max_psi": {
        "value": 0.25,
        "basis": "usual reading of the population stability index: above 0.25 is a significant shift",
    },
    "max_ks_statistic": {
        "value": 0.1,
        "basis": "common practice: the two distributions differ by at most 10 percentage points anywhere",
    },
    "min_ks_pvalue": {
        "value": None,
        "basis": "not checked unless the policy sets it: on large batches every small shift is significant",
    },
    "min_chi2_pvalue": {
        "value": None,
        "basis": "not checked unless the policy sets it: on large batches every small shift is significant",
    },
    "max_missing_rate_increase": {
        "value": 0.05,
        "basis": "common practice: missing values rise by at most 5 percentage points over the evaluation data",
    },
    "max_out_of_range_share": {
        "value": 0.05,
        "basis": "at most 5% of values outside the range the model was built on, where it is untested",
    },
    "max_unseen_category_share": {
        "value": 0.01,
        "basis": "at most 1% of values in categories the model never saw",
    },
    "max_metric_drop": {
        "value": 0.05,
        "basis": "default model standard: a metric on labelled production data falls at most 0.05 below its evaluation figure",
    },
    "reopen_gate": {
        "value": True,
        "basis": "a crossed monitoring threshold asks the monitoring gate's signers to look again",
    },
}

WRONG = "{file_key}: {message}"
NOT_MAPPING = "expected a mapping with value and basis, found {found!r}."
MISSING = "the required field {field!r} is missing; add it."
UNKNOWN = "unknown field {field!r}; use only: {allowed}."
NOT_RATIO = "{name} is {value!r}, outside 0 to 1; a share, rate or p-value lies between 0 and 1."
NOT_POSITIVE = "{name} is {value!r}; it must be a number above 0."
NOT_BOOL = "{name} is {value!r}; write true or false."
NO_VALUE = "{name} has no value; write true or false."
NO_BASIS = "the basis of {name} is {found!r}; write a sentence saying where the number comes from."


def monitoring_problems(block: Any) -> list[tuple[tuple[str, ...], str]]:
    """Every problem of a ``thresholds.monitoring`` block, each as (key path below it, message).

    Thresholds left out take their defaults (filled in place), so a pack names only what it
    changes.
    """
    if not isinstance(block, dict):
        return [((), NOT_MAPPING.format(found=block))]
    problems: list[tuple[tuple[str, ...], str]] = []
    for name in block:
        if name not in MONITORING_THRESHOLDS:
            allowed = ", ".join(MONITORING_THRESHOLDS)
            problems.append(((str(name),), UNKNOWN.format(field=name, allowed=allowed)))
    for name, (kind, nullable) in MONITORING_THRESHOLDS.items():
        entry = block.setdefault(name, copy.deepcopy(DEFAULT_MONITORING[name]))
        if not isinstance(entry, dict):
            problems.append(((name,), NOT_MAPPING.format(found=entry)))
            continue
        for key in ("value", "basis"):
            if key not in entry:
                problems.append(((name,), MISSING.format(field=key)))
        for key in entry:
            if key not in ("value", "basis"):
                problems.append(
                    ((name, str(key)), UNKNOWN.format(field=key, allowed="value, basis"))
                )
        if not isinstance(entry.get("basis", ""), str):
            problems.append(((name, "basis"), NO_BASIS.format(name=name, found=entry["basis"])))
        value = entry.get("value")
        if value is None:
            if not nullable and "value" in entry:
                problems.append(((name, "value"), NO_VALUE.format(name=name)))
            continue
        if kind == "bool":
            if not isinstance(value, bool):
                problems.append(((name, "value"), NOT_BOOL.format(name=name, value=value)))
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(((name, "value"), f"{name}: expected a number, found {value!r}."))
        elif kind == "ratio" and not 0 <= value <= 1:
            problems.append(((name, "value"), NOT_RATIO.format(name=name, value=value)))
        elif kind == "positive" and value <= 0:
            problems.append(((name, "value"), NOT_POSITIVE.format(name=name, value=value)))
    return problems


@dataclass(frozen=True)
class MonitoringPolicy:
    """A tier's monitoring thresholds (None: not checked) with their bases."""

    values: Mapping[str, Any]
    bases: Mapping[str, str]

    def value(self, name: str) -> Any:
        return self.values.get(name)

    def basis(self, name: str) -> str:
        return self.bases.get(name, "")

    @property
    def reopen_gate(self) -> bool:
        return bool(self.values.get("reopen_gate"))

    def to_dict(self) -> dict[str, Any]:
        return {
            n: {"value": self.values.get(n), "basis": self.bases.get(n, "")} for n in self.values
        }


def monitoring_policy(thresholds: Mapping[str, Any] | None = None) -> MonitoringPolicy:
    """The monitoring thresholds of a tier's ``thresholds`` mapping (defaults where absent)."""
    block = dict((thresholds or {}).get("monitoring") or {})
    merged = {**DEFAULT_MONITORING, **block}
    return MonitoringPolicy(
        values={n: e.get("value") for n, e in merged.items()},
        bases={n: str(e.get("basis", "")) for n, e in merged.items()},
    )

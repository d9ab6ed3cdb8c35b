"""Business KPIs against the baseline and the hurdle, as the model card states them.

The card's ``kpi_targets`` field lists each KPI the model is judged on in business terms::

    kpi_targets:
      - {name: approval_rate, measured_as: approved over applications, better: higher,
         baseline: 0.55, hurdle: 0.58}
      - {name: default_rate, measured_as: defaults within 12 months over approved loans,
         better: lower, baseline: 0.045, hurdle: 0.04}

``baseline`` is the value under what the model replaces (the card's ``baseline`` field names
it: a rule, a manual process, a previous model); ``hurdle`` is the value the model must reach.
A KPI measured on a production batch that misses its hurdle fails its check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.domain import CheckStatus
from core.metrics.bootstrap import Estimate
from core.metrics.plain import PlainRecord
from core.rules.checks import Check, Direction, meets

__all__ = [
    "KPI_TARGETS_FIELD",
    "KpiTarget",
    "kpi_checks",
    "parse_kpi_targets",
    "unknown_kpis",
]

KPI_TARGETS_FIELD = "kpi_targets"
_KEYS = ("name", "measured_as", "better", "baseline", "hurdle", "unit")
NOT_LIST = "The card's kpi_targets must be a list of KPIs (name, measured_as, better, baseline, hurdle); found {found}."
NOT_MAPPING = "KPI target {index} must be a mapping with name, measured_as, better, baseline and hurdle; found {found}."
NO_NAME = "KPI target {index} has no name; name the KPI (e.g. approval_rate)."
DUPLICATE = "KPI {name!r} is listed twice in kpi_targets; list each KPI once."
UNKNOWN_KEYS = "KPI {name!r} has unknown fields {unknown}; use only: {allowed}."
BAD_BETTER = "KPI {name!r} says better is {found!r}; write higher or lower."
BAD_NUMBER = "KPI {name!r} has {key} {found!r}; give a number."
NO_HURDLE = "KPI {name!r} has no hurdle; give the value the model must reach."
UNKNOWN_KPI = "The batch names KPIs {unknown} that the model card does not list; use: {known}."
MISSED = "{name} is {value:g}, {relation} its hurdle of {hurdle:g}{baseline}."
MET = "{name} is {value:g}, meeting its hurdle of {hurdle:g}{baseline}."


@dataclass(frozen=True)
class KpiTarget(PlainRecord):
    """One KPI with how it is measured, which way is better, its baseline and its hurdle."""

    name: str
    measured_as: str
    better: str
    baseline: float | None
    hurdle: float
    unit: str = ""

    @property
    def direction(self) -> Direction:
        return "at_least" if self.better == "higher" else "at_most"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def parse_kpi_targets(value: Any) -> tuple[list[KpiTarget], list[str]]:
    """The card's KPI targets and every problem with them, one sentence each."""
    if value in (None, "", []):
        return [], []
    if not isinstance(value, list):
        return [], [NOT_LIST.format(found=type(value).__name__)]
    targets: list[KpiTarget] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            problems.append(NOT_MAPPING.format(index=index, found=type(item).__name__))
            continue
        name = str(item.get("name") or "").strip()
        if not name:
            problems.append(NO_NAME.format(index=index))
            continue
        if name in seen:
            problems.append(DUPLICATE.format(name=name))
        seen.add(name)
        if unknown := sorted(set(map(str, item)) - set(_KEYS)):
            problems.append(
                UNKNOWN_KEYS.format(name=name, unknown=unknown, allowed=", ".join(_KEYS))
            )
        better = str(item.get("better") or "higher").strip().lower()
        if better not in ("higher", "lower"):
            problems.append(BAD_BETTER.format(name=name, found=item.get("better")))
        numbers: dict[str, float | None] = {}
        for key in ("baseline", "hurdle"):
            raw = item.get(key)
            numbers[key] = None if raw in (None, "") else _number(raw)
            if raw not in (None, "") and numbers[key] is None:
                problems.append(BAD_NUMBER.format(name=name, key=key, found=raw))
        hurdle = numbers["hurdle"]
        if hurdle is None:
            if item.get("hurdle") in (None, ""):
                problems.append(NO_HURDLE.format(name=name))
            continue
        targets.append(
            KpiTarget(
                name=name,
                measured_as=str(item.get("measured_as") or ""),
                better=better,
                baseline=numbers["baseline"],
                hurdle=hurdle,
                unit=str(item.get("unit") or ""),
            )
        )
    return targets, problems


def unknown_kpis(values: Mapping[str, float], targets: list[KpiTarget]) -> list[str]:
    """A sentence when a batch names KPIs the card does not list."""
    known = [t.name for t in targets]
    if unknown := sorted(set(values) - set(known)):
        return [
            UNKNOWN_KPI.format(unknown=unknown, known=", ".join(known) or "none (edit the card)")
        ]
    return []


def kpi_checks(values: Mapping[str, float], targets: list[KpiTarget]) -> list[dict[str, Any]]:
    """Each KPI measured on a batch against its hurdle (KPIs without a value are skipped)."""
    checks = []
    for target in targets:
        if target.name not in values:
            continue
        value = float(values[target.name])
        ok = meets(value, target.hurdle, target.direction)
        status = CheckStatus.passed if ok else CheckStatus.failed
        baseline = "" if target.baseline is None else f" (baseline {target.baseline:g})"
        words = {"name": target.name, "value": value, "hurdle": target.hurdle, "baseline": baseline}
        relation = "below" if target.better == "higher" else "above"
        check = Check(
            feature=target.name,
            name="kpi_hurdle",
            label=f"KPI {target.name}",
            status=status,
            point_status=status,
            value=Estimate(value),
            threshold=target.hurdle,
            direction=target.direction,
            basis=f"the model card's hurdle for {target.name} ({target.measured_as or 'as measured by the business'})",
            sentence=MET.format(**words) if ok else MISSED.format(**words, relation=relation),
        )
        checks.append({**check.to_dict(), "baseline": target.baseline, "better": target.better})
    return checks

"""Business language for a model: display names and descriptions from its card.

The card's ``vocabulary`` field (YAML at registration, the card editor later) names the target,
its outcomes and each feature for business readers, with optional value labels::

    vocabulary:
      target: {name: Loan decision, description: Whether the application was approved}
      outcomes: {"1": approved, "0": declined}
      features:
        debt_ratio: {name: Debt-to-income ratio, description: Monthly debt over income}
      values:
        region: {n: North, s: South}

Stored in the card's JSON, so no table changes. Pages show these names everywhere and keep the
technical names in a "technical details" expander.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["VOCABULARY_FIELD", "Vocabulary", "humanize", "vocabulary_problems"]

VOCABULARY_FIELD = "vocabulary"
_PARTS = ("target", "outcomes", "features", "values")
NOT_MAPPING = "The card's vocabulary must be a mapping with any of: {parts}; found {found}."
UNKNOWN_PARTS = "The card's vocabulary has unknown parts {unknown}; use only: {parts}."
BAD_PART = "The card's vocabulary {part} must be a mapping; found {found}."
BAD_FEATURE = (
    "The vocabulary entry for feature {feature!r} must be a display name or a mapping with "
    "name and description; found {found}."
)


def humanize(name: str) -> str:
    """A technical column name as words: ``debt_ratio`` → ``Debt ratio``."""
    words = str(name).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else str(name)


def _entry(value: Any) -> tuple[str | None, str]:
    if isinstance(value, Mapping):
        name = value.get("name")
        return (str(name) if name else None), str(value.get("description") or "")
    return (str(value) if value else None), ""


def vocabulary_problems(value: Any) -> list[str]:
    """Every problem with a card's vocabulary, one sentence each (empty when it is usable)."""
    if value in (None, "", {}):
        return []
    if not isinstance(value, Mapping):
        return [NOT_MAPPING.format(parts=", ".join(_PARTS), found=type(value).__name__)]
    problems = []
    if unknown := sorted(set(map(str, value)) - set(_PARTS)):
        problems.append(UNKNOWN_PARTS.format(unknown=unknown, parts=", ".join(_PARTS)))
    for part in ("outcomes", "features", "values"):
        if value.get(part) is not None and not isinstance(value[part], Mapping):
            problems.append(BAD_PART.format(part=part, found=type(value[part]).__name__))
    for feature, entry in (value.get("features") or {}).items():
        if not isinstance(entry, str | Mapping) and entry is not None:
            problems.append(BAD_FEATURE.format(feature=feature, found=type(entry).__name__))
    return problems


@dataclass(frozen=True)
class Vocabulary:
    """A model's business names; every lookup falls back to the technical name in words."""

    target: str
    positive: str | None
    target_name: str | None = None
    target_description: str = ""
    outcomes: Mapping[str, str] = field(default_factory=dict)
    features: Mapping[str, tuple[str | None, str]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_card(cls, card: Mapping[str, Any], *, target: str, positive: str | None) -> Vocabulary:
        """The vocabulary of a card (``current_card``), for a version's target and positive label."""
        raw = card.get(VOCABULARY_FIELD)
        data: Mapping[str, Any] = (
            raw if isinstance(raw, Mapping) and not vocabulary_problems(raw) else {}
        )
        name, description = _entry(data.get("target"))
        return cls(
            target=target,
            positive=positive,
            target_name=name,
            target_description=description,
            outcomes={str(k): str(v) for k, v in (data.get("outcomes") or {}).items()},
            features={str(k): _entry(v) for k, v in (data.get("features") or {}).items()},
            values={
                str(k): {str(a): str(b) for a, b in (v or {}).items()}
                for k, v in (data.get("values") or {}).items()
                if isinstance(v, Mapping)
            },
        )

    @property
    def target_words(self) -> str:
        """The target as a business reader names it: "Loan decision"."""
        return self.target_name or humanize(self.target)

    def feature(self, name: str) -> str:
        """A feature's display name: ``debt_ratio`` → "Debt-to-income ratio"; an intersection
        (stored as ``sex × age_band``) by each part's: "Sex × Age band"."""
        if "×" in str(name):
            return " × ".join(self.feature(part.strip()) for part in str(name).split("×"))
        shown = self.features.get(str(name), (None, ""))[0]
        return shown or humanize(name)

    def description(self, name: str) -> str:
        return self.features.get(str(name), (None, ""))[1]

    def value(self, feature: str, value: Any) -> str:
        """A value as its label says (``n`` → "North"), else as written."""
        return self.values.get(str(feature), {}).get(str(value), str(value))

    def outcome(self, value: Any) -> str:
        """An outcome as words: "approved"; without a label, "<target> <value>"."""
        key = str(value)
        if key in self.outcomes:
            return self.outcomes[key]
        if isinstance(value, float) and value.is_integer():
            key = str(int(value))
        return self.outcomes.get(key, f"{self.target_words.lower()} {key}")

    @property
    def positive_words(self) -> str:
        """The positive outcome: "approved"."""
        return self.outcome(self.positive if self.positive is not None else "1")

    @property
    def negative_words(self) -> str:
        """The other outcome of a binary target: "declined", else "not approved"."""
        others = [v for k, v in self.outcomes.items() if k != str(self.positive or "1")]
        return others[0] if len(others) == 1 else f"not {self.positive_words}"

    def output_words(self, space: str) -> str:
        """What a model's output measures, in words: "probability of approved"."""
        if space == "probability":
            return f"probability of {self.positive_words}"
        if space == "log_odds":
            return f"log-odds of {self.positive_words}"
        if self.positive is None:
            return f"predicted {self.target_words.lower()}"
        return f"score for {self.positive_words}"

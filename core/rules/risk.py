"""Risk tiering: questionnaire answers give a materiality and a complexity score, the pack's
matrix turns their levels into a tier, and the tier sets the periodic review cadence.

Pure judgement: the method (questions, weights, cut-offs, matrix) comes from a policy pack, so
an assessment recorded with its method version can be scored again years later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.errors import InputProblems

__all__ = [
    "AXES",
    "MATERIAL_FIELDS",
    "TIERS",
    "Choice",
    "Question",
    "RiskMethod",
    "RiskScore",
    "material_changes",
    "next_review_date",
    "review_overdue",
    "score_answers",
]

#: The tiers, from the lightest governance to the heaviest.
TIERS = ("low", "medium", "high", "critical")
#: What a question's answer counts towards.
AXES = ("materiality", "complexity")
#: What makes a new version a different model for the assessment: it then "needs review".
MATERIAL_FIELDS = ("features", "target", "training_data", "model_class")

MISSING_ANSWERS = (
    "No answer to {questions}; answer every question (list them with `gatehouse risk questions`)."
)
UNKNOWN_QUESTIONS = (
    "Unknown questions {questions}; use only the ids `gatehouse risk questions` lists."
)
UNKNOWN_CHOICE = (
    "The answer {value!r} to {question!r} is not one of its choices; use one of {choices}."
)


@dataclass(frozen=True)
class Choice:
    """One answer a question allows; ``score`` grows with the risk it brings."""

    value: str
    label: str
    score: float


@dataclass(frozen=True)
class Question:
    """One question of the questionnaire, its axis and weight, choices least risky first."""

    id: str
    text: str
    help: str
    axis: str
    weight: float
    choices: tuple[Choice, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "help": self.help,
            "axis": self.axis,
            "weight": self.weight,
            "choices": [
                {"value": c.value, "label": c.label, "score": c.score} for c in self.choices
            ],
        }


@dataclass(frozen=True)
class RiskMethod:
    """Questions, score levels and the tier matrix (materiality level → complexity level → tier)."""

    version: str
    levels: tuple[str, ...]
    cutoffs: tuple[float, ...]
    questions: tuple[Question, ...]
    matrix: Mapping[str, Mapping[str, str]]
    _by_id: dict[str, Question] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    def level(self, score: float) -> str:
        """The level of a 0-100 score: below the first cut-off is the first level, and so on."""
        index = sum(1 for cut in self.cutoffs if score >= cut)
        return self.levels[index]


@dataclass(frozen=True)
class RiskScore:
    """The outcome of scoring one set of answers."""

    method_version: str
    materiality: float
    complexity: float
    materiality_level: str
    complexity_level: str
    tier: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "method_version": self.method_version,
            "materiality": self.materiality,
            "complexity": self.complexity,
            "materiality_level": self.materiality_level,
            "complexity_level": self.complexity_level,
            "tier": self.tier,
        }


def _check_answers(method: RiskMethod, answers: Mapping[str, str]) -> None:
    problems = []
    if missing := [q.id for q in method.questions if q.id not in answers]:
        problems.append(MISSING_ANSWERS.format(questions=", ".join(missing)))
    if unknown := sorted(k for k in answers if method.question(k) is None):
        problems.append(UNKNOWN_QUESTIONS.format(questions=", ".join(unknown)))
    for qid, value in answers.items():
        question = method.question(qid)
        if question is not None and value not in {c.value for c in question.choices}:
            problems.append(
                UNKNOWN_CHOICE.format(
                    value=value, question=qid, choices=", ".join(c.value for c in question.choices)
                )
            )
    if problems:
        raise InputProblems(problems)


def score_answers(method: RiskMethod, answers: Mapping[str, str]) -> RiskScore:
    """Score a complete questionnaire; a missing or unknown answer gives no tier.

    Each axis scores 0-100: the weighted sum of the chosen choices' scores over the largest
    weighted sum the questions allow. Raises InputProblems naming every question at fault.
    """
    _check_answers(method, answers)
    got = dict.fromkeys(AXES, 0.0)
    most = dict.fromkeys(AXES, 0.0)
    for question in method.questions:
        chosen = next(c for c in question.choices if c.value == answers[question.id])
        got[question.axis] += question.weight * chosen.score
        most[question.axis] += question.weight * max(c.score for c in question.choices)
    scores = {a: round(100 * got[a] / most[a], 1) if most[a] else 0.0 for a in AXES}
    m_level = method.level(scores["materiality"])
    c_level = method.level(scores["complexity"])
    return RiskScore(
        method_version=method.version,
        materiality=scores["materiality"],
        complexity=scores["complexity"],
        materiality_level=m_level,
        complexity_level=c_level,
        tier=method.matrix[m_level][c_level],
    )


def next_review_date(assessed_at: datetime, review_every_days: int) -> datetime:
    """When the periodic review of a model assessed at ``assessed_at`` falls due."""
    return assessed_at + timedelta(days=review_every_days)


def review_overdue(next_review: datetime | None, now: datetime) -> bool:
    """Whether the periodic review is past due (a model never assessed has no due date)."""
    return next_review is not None and now > next_review


def material_changes(assessed: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Which of features, target, training data and model class differ between the version the
    assessment was made on and the current one; any difference means "needs review"."""
    changed: list[str] = []
    for name in MATERIAL_FIELDS:
        before, after = assessed.get(name), current.get(name)
        if isinstance(before, Sequence) and not isinstance(before, str):
            before = sorted(map(str, before))
        if isinstance(after, Sequence) and not isinstance(after, str):
            after = sorted(map(str, after))
        if before != after:
            changed.append(name)
    return changed

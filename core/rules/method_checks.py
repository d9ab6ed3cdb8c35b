"""The checks of a pack's risk method: levels and cut-offs, questions with choices ordered from
least to most risk, and a tier matrix without gaps. Problems as in ``policy_checks``."""

from __future__ import annotations

from typing import Any

from core.rules.policy_checks import UNKNOWN_TIER, Path, Problems, fields
from core.rules.risk import AXES, TIERS, Choice, Question, RiskMethod

__all__ = ["check_method"]

MATRIX_GAP = (
    "the tier matrix has no tier for materiality {row!r} and complexity {column!r}; add that cell."
)
UNKNOWN_LEVEL = "unknown level {level!r}; use one of the method's levels: {levels}."
BAD_CUTOFFS = (
    "the cut-offs must be {count} increasing numbers between 0 and 100 (one fewer than the "
    "levels); found {found!r}."
)
DUPLICATE = "{what} {value!r} appears twice; each must be unique."
UNKNOWN_AXIS = "unknown axis {axis!r}; use one of: {axes}."
CHOICE_ORDER = (
    "the choices of {question} are not ordered from least to most risk (scores {scores}); "
    "list them least risky first."
)
FEW_CHOICES = "question {question} needs at least two choices."


def _question(problems: Problems, path: Path, item: Any) -> Question | None:
    if not problems.expect(path, item, dict, "a mapping with id, text, axis, weight, choices"):
        return None
    fields(problems, path, item, ("id", "text", "axis", "weight", "choices"), ("help",))
    qid = str(item.get("id"))
    ok = True
    if item.get("axis") not in AXES:
        problems.add(
            (*path, "axis"), UNKNOWN_AXIS.format(axis=item.get("axis"), axes=", ".join(AXES))
        )
        ok = False
    weight = item.get("weight", 0)
    if (
        not problems.expect((*path, "weight"), weight, (int, float), "a positive number")
        or weight <= 0
    ):
        ok = False
    raw = item.get("choices")
    if not problems.expect((*path, "choices"), raw, list, "a list of choices"):
        return None
    choices = []
    for i, c in enumerate(raw):
        if problems.expect((*path, "choices", i), c, dict, "a mapping with value, label, score"):
            fields(problems, (*path, "choices", i), c, ("value", "label", "score"), ())
            score = c.get("score", 0)
            if problems.expect((*path, "choices", i, "score"), score, (int, float), "a number"):
                choices.append(Choice(str(c.get("value")), str(c.get("label", "")), float(score)))
    if len(raw) < 2:
        problems.add((*path, "choices"), FEW_CHOICES.format(question=qid))
    values = [c.value for c in choices]
    for value in {v for v in values if values.count(v) > 1}:
        problems.add((*path, "choices"), DUPLICATE.format(what="choice", value=value))
    scores = [c.score for c in choices]
    if scores != sorted(scores):
        problems.add((*path, "choices"), CHOICE_ORDER.format(question=qid, scores=scores))
    if not ok or len(choices) != len(raw):
        return None
    return Question(
        qid, str(item.get("text", "")), str(item.get("help", "")), str(item["axis"]),
        float(weight), tuple(choices),
    )  # fmt: skip


def _matrix(
    problems: Problems, path: Path, matrix: Any, levels: list[str]
) -> dict[str, dict[str, str]]:
    if not problems.expect(
        path, matrix, dict, "a mapping of materiality level to complexity level"
    ):
        return {}
    for row, cells in matrix.items():
        if row not in levels:
            problems.add((*path, row), UNKNOWN_LEVEL.format(level=row, levels=", ".join(levels)))
        if not problems.expect((*path, row), cells, dict, "a mapping of complexity level to tier"):
            continue
        for column, tier in cells.items():
            if column not in levels:
                problems.add(
                    (*path, row, column),
                    UNKNOWN_LEVEL.format(level=column, levels=", ".join(levels)),
                )
            elif tier not in TIERS:
                problems.add(
                    (*path, row, column), UNKNOWN_TIER.format(tier=tier, tiers=", ".join(TIERS))
                )
    for row in levels:
        for column in levels:
            if not isinstance(matrix.get(row), dict) or column not in matrix[row]:
                problems.add((*path, row), MATRIX_GAP.format(row=row, column=column))
    return {
        str(row): {str(c): str(t) for c, t in cells.items()}
        for row, cells in matrix.items()
        if isinstance(cells, dict)
    }


def check_method(problems: Problems, path: Path, method: Any) -> RiskMethod | None:
    """The risk method: version, levels and cut-offs, questions and a complete tier matrix."""
    if not problems.expect(path, method, dict, "a mapping with version, levels, questions, matrix"):
        return None
    before = len(problems.items)
    fields(problems, path, method, ("version", "levels", "cutoffs", "questions", "matrix"), ())
    levels = method.get("levels")
    if (
        not problems.expect((*path, "levels"), levels, list, "a list of level names")
        or len(levels) < 2
    ):
        levels = []
    levels = [str(v) for v in levels]
    cutoffs = method.get("cutoffs")
    if (*path, "cutoffs") not in problems.missing and (
        not isinstance(cutoffs, list)
        or len(cutoffs) != max(len(levels) - 1, 0)
        or not all(isinstance(c, (int, float)) and 0 <= c <= 100 for c in cutoffs)
        or cutoffs != sorted(set(cutoffs))
    ):
        problems.add(
            (*path, "cutoffs"), BAD_CUTOFFS.format(count=max(len(levels) - 1, 0), found=cutoffs)
        )
    raw = method.get("questions")
    questions: list[Question | None] = []
    if problems.expect((*path, "questions"), raw, list, "a list of questions"):
        questions = [_question(problems, (*path, "questions", i), q) for i, q in enumerate(raw)]
    ids = [q.id for q in questions if q is not None]
    for qid in {q for q in ids if ids.count(q) > 1}:
        problems.add((*path, "questions"), DUPLICATE.format(what="question id", value=qid))
    matrix = _matrix(problems, (*path, "matrix"), method.get("matrix"), levels)
    if len(problems.items) > before or None in questions:
        return None
    return RiskMethod(
        version=str(method["version"]),
        levels=tuple(levels),
        cutoffs=tuple(float(c) for c in cutoffs),
        questions=tuple(q for q in questions if q is not None),
        matrix=matrix,
    )

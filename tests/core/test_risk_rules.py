"""Risk scoring, the tier matrix, review cadence and "needs review", against hand computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InputProblems
from core.rules.risk import (
    Choice,
    Question,
    RiskMethod,
    material_changes,
    next_review_date,
    review_overdue,
    score_answers,
)

LEVELS = ("low", "high")
MATRIX = {"low": {"low": "low", "high": "medium"}, "high": {"low": "high", "high": "critical"}}


def _q(qid: str, axis: str, weight: float, scores: tuple[float, ...]) -> Question:
    choices = tuple(Choice(f"c{i}", f"choice {i}", s) for i, s in enumerate(scores))
    return Question(qid, qid, "", axis, weight, choices)


METHOD = RiskMethod(
    version="t1",
    levels=LEVELS,
    cutoffs=(50.0,),
    questions=(
        _q("a", "materiality", 3, (0, 1, 2)),
        _q("b", "materiality", 1, (0, 4)),
        _q("c", "complexity", 2, (0, 1, 3)),
    ),
    matrix=MATRIX,
)


@pytest.mark.parametrize(
    ("answers", "materiality", "complexity", "tier"),
    [
        # materiality = 100 * (3*s_a + 1*s_b) / (3*2 + 1*4); complexity = 100 * 2*s_c / (2*3)
        ({"a": "c0", "b": "c0", "c": "c0"}, 0.0, 0.0, "low"),
        ({"a": "c1", "b": "c0", "c": "c1"}, 30.0, 33.3, "low"),
        ({"a": "c1", "b": "c1", "c": "c1"}, 70.0, 33.3, "high"),
        ({"a": "c0", "b": "c1", "c": "c2"}, 40.0, 100.0, "medium"),
        ({"a": "c2", "b": "c1", "c": "c2"}, 100.0, 100.0, "critical"),
    ],
)
def test_scores_and_matrix(answers, materiality, complexity, tier) -> None:  # type: ignore[no-untyped-def]
    score = score_answers(METHOD, answers)
    assert (score.materiality, score.complexity, score.tier) == (materiality, complexity, tier)
    assert score.method_version == "t1"


def test_a_score_on_the_cutoff_is_the_higher_level() -> None:
    # 3*1 + 1*2 ... b has scores (0, 4): a=c1,b=c0 gives 30; build exactly 50 with a=c2 alone: 60.
    assert METHOD.level(49.9) == "low" and METHOD.level(50.0) == "high"


def test_missing_and_unknown_answers_give_no_tier_and_name_the_questions() -> None:
    with pytest.raises(InputProblems) as info:
        score_answers(METHOD, {"a": "c9", "zz": "c0"})
    assert info.value.problems == [
        "No answer to b, c; answer every question (list them with `gatehouse risk questions`).",
        "Unknown questions zz; use only the ids `gatehouse risk questions` lists.",
        "The answer 'c9' to 'a' is not one of its choices; use one of c0, c1, c2.",
    ]


def test_cadence_and_overdue() -> None:
    assessed = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    due = next_review_date(assessed, 180)
    assert due == datetime(2026, 7, 9, 9, 0, tzinfo=UTC)
    assert not review_overdue(due, due)
    assert review_overdue(due, due + timedelta(seconds=1))
    assert not review_overdue(None, due)


def test_material_changes_name_what_differs() -> None:
    assessed = {"features": ["x", "y"], "target": "t", "training_data": "aa", "model_class": "A"}
    assert material_changes(assessed, dict(assessed, features=["y", "x"])) == []
    changed = dict(assessed, features=["x", "z"], model_class="B")
    assert material_changes(assessed, changed) == ["features", "model_class"]
    assert material_changes(assessed, dict(assessed, training_data="bb", target="u")) == [
        "target",
        "training_data",
    ]

"""`gatehouse risk`: the questionnaire, assessing a model, overriding its tier, its history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from core.cli.base import emit, handles_errors, main, required_actor
from core.db import check_schema, session_scope
from core.errors import InputProblems

ANSWERS_NOT_MAPPING = (
    "The answers file {name} does not map question ids to choices; write it as YAML "
    "'question_id: choice' lines."
)
ANSWERS_NOT_YAML = "The answers file {name} is not valid YAML ({problem}); fix the syntax."


@main.group()
def risk() -> None:
    """Risk assessment: the questionnaire, a model's tier, overrides and history."""


@risk.command("questions")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def questions(as_json: bool) -> None:
    """Print the questionnaire: each question's id, text, help and choices (least risk first)."""
    from core.services.risk import questionnaire

    check_schema()
    with session_scope() as session:
        data = questionnaire(session)
    emit(data, as_json, _questions_text)


def _questions_text(data: list[dict[str, Any]]) -> str:
    lines = []
    for q in data:
        lines.append(f"{q['id']}: {q['text']}")
        lines += [f"    {c['value']:<16} {c['label']}" for c in q["choices"]]
    return "\n".join(lines)


def _read_answers(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err)
        raise InputProblems([ANSWERS_NOT_YAML.format(name=path.name, problem=problem)]) from err
    if not isinstance(data, dict):
        raise InputProblems([ANSWERS_NOT_MAPPING.format(name=path.name)])
    return data


@risk.command("assess")
@click.argument("model")
@click.option(
    "--answers",
    "answers_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="YAML file mapping question id to choice value.",
)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def assess(model: str, answers_file: Path, acting: str | None, as_json: bool) -> None:
    """Assess a model's risk: prints the tier, the scores and what the tier requires."""
    from core.services.risk import assess_model, find_model

    check_schema()
    answers = _read_answers(answers_file)
    with session_scope() as session:
        actor = required_actor(session, acting)
        result = assess_model(
            session=session,
            actor=actor,
            model_id=find_model(session, model).id,  # type: ignore[arg-type]
            answers=answers,
        )
    emit(result.to_dict(), as_json, _result_text)


def _result_text(data: dict[str, Any]) -> str:
    tier = data["tier"]
    if data["computed_tier"] != tier:
        tier += f" (override; computed {data['computed_tier']})"
    lines = [
        f"{data['model']}: tier {tier}, policy version {data['policy_version']} "
        f"(method {data['method_version']})",
        f"  Materiality {data['scores']['materiality']:g}, complexity "
        f"{data['scores']['complexity']:g}; next review {data['next_review'][:10]}",
        "  Requires:",
    ]
    for gate in data["requires"]:
        evidence = ", ".join(e["kind"] for e in gate["evidence"]) or "no evidence"
        lines.append(f"    {gate['id']}: accountable {gate['accountable']}; {evidence}")
    return "\n".join(lines)


@risk.command("override")
@click.argument("model")
@click.option("--tier", required=True, help="low, medium, high or critical.")
@click.option("--justification", default="", help="Why the computed tier is set aside.")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def override(model: str, tier: str, justification: str, acting: str | None, as_json: bool) -> None:
    """Override a model's computed tier (risk managers, with a written justification)."""
    from core.services.risk import find_model, override_tier

    check_schema()
    with session_scope() as session:
        actor = required_actor(session, acting)
        result = override_tier(
            session=session,
            actor=actor,
            model_id=find_model(session, model).id,  # type: ignore[arg-type]
            tier=tier,
            justification=justification,
        )
    emit(result.to_dict(), as_json, _result_text)


@risk.command("show")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def show(model: str, as_json: bool) -> None:
    """Print a model's current and past risk assessments."""
    from core.services.risk import current_risk, find_model

    check_schema()
    with session_scope() as session:
        entry = find_model(session, model)
        data = {"model": entry.name, **current_risk(session, entry.id)}  # type: ignore[arg-type]
    emit(data, as_json, _show_text)


def _show_text(data: dict[str, Any]) -> str:
    current = data["current"]
    if current is None:
        return f"{data['model']} is not assessed yet."
    flags = [f for f in ("overdue", "needs_review") if data.get(f)]
    lines = [
        f"{data['model']}: tier {current['tier']} (computed {current['computed_tier']}), next "
        f"review {current['next_review'][:10]}" + (f" [{', '.join(flags)}]" if flags else ""),
    ]
    for past in [current, *data["history"]]:
        lines.append(
            f"  {past['assessed_at'][:16]} by {past['assessed_by']}: {past['computed_tier']} "
            f"(materiality {past['scores']['materiality']:g}, complexity "
            f"{past['scores']['complexity']:g})"
        )
        lines += [
            f"    override to {o['tier']} by {o['by']}: {o['justification']}"
            for o in past["overrides"]
        ]
    return "\n".join(lines)

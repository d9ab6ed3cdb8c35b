"""`gatehouse risk` and `gatehouse policy`: JSON on stdout, every problem on stderr, non-zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from core.cli import main
from core.demo.data import TARGET, DemoFiles
from core.demo.risk import DEMO_ANSWERS
from core.services.policy import shipped_pack_text

PASSWORD = "a long enough password"


@pytest.fixture
def run(db_url: str, demo_files: DemoFiles):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(  # type: ignore[no-untyped-def]
        *args: str, user: str | None = "olivia", input: str | None = None, password: str = PASSWORD
    ):
        env = {"GATEHOUSE_USER": user or "", "GATEHOUSE_PASSWORD": password}
        return runner.invoke(main, list(args), env=env, input=input)

    first = invoke("init", "--json", user=None)
    assert first.exit_code == 0 and json.loads(first.stdout)["policy_version"] == 1
    assert "policy_version" not in json.loads(invoke("init", "--json", user=None).stdout)
    for name, role in (
        ("ada", "admin"),
        ("olivia", "model_owner"),
        ("rita", "risk_manager"),
        ("devi", "developer"),
    ):
        added = invoke("user", "add", name, "--role", role, input=PASSWORD + "\n", user=None)
        assert added.exit_code == 0, added.stderr
    registered = invoke(
        "model", "register", "--name", "credit-logit", "--artifact",
        str(demo_files.model_paths["credit-logit"]), "--eval", str(demo_files.eval_csv),
        "--target", TARGET, "--json", user="devi",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.stderr
    return invoke


def _answers(tmp_path: Path, answers: dict[str, str]) -> str:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    return str(path)


def test_questions_list_choices_least_risk_first(run) -> None:  # type: ignore[no-untyped-def]
    result = run("risk", "questions", "--json")
    assert result.exit_code == 0
    questions = json.loads(result.stdout)
    consumers = next(q for q in questions if q["id"] == "consumers")
    assert [c["value"] for c in consumers["choices"]] == [
        "internal_few",
        "internal_many",
        "customers",
        "public",
    ]
    assert {"id", "text", "help", "choices"} <= set(consumers)
    assert len(questions) == 16


def test_assess_override_and_show(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The registrant (devi) owns credit-logit: olivia is an owner, but not of this model.
    refused = run(
        "risk",
        "assess",
        "credit-logit",
        "--answers",
        _answers(tmp_path, DEMO_ANSWERS["credit-logit"][0]),
        "--json",
    )
    assert refused.exit_code != 0
    assert refused.stderr == (
        "error: olivia may not assess credit-logit: only its owner (devi) or a risk manager "
        "answers its risk questionnaire.\n"
    )
    result = run(
        "risk",
        "assess",
        "credit-logit",
        "--answers",
        _answers(tmp_path, DEMO_ANSWERS["credit-logit"][0]),
        "--json",
        user="rita",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["tier"], data["computed_tier"], data["policy_version"]) == ("medium", "medium", 1)
    assert data["scores"] == {"materiality": 39.7, "complexity": 33.3}
    validation = next(g for g in data["requires"] if g["id"] == "validation")
    assert validation["accountable"] == "risk_manager"

    no_reason = run("risk", "override", "credit-logit", "--tier", "high", "--json", user="rita")
    assert no_reason.exit_code != 0
    assert (
        no_reason.stderr
        == "error: An override needs a written justification; give --justification TEXT.\n"
    )
    not_rm = run(
        "risk",
        "override",
        "credit-logit",
        "--tier",
        "high",
        "--justification",
        "x",
        "--json",
        user="devi",
    )
    assert not_rm.exit_code != 0
    assert (
        not_rm.stderr
        == "error: devi may not override a risk tier: only a risk_manager may, with a justification.\n"
    )
    done = run(
        "risk",
        "override",
        "credit-logit",
        "--tier",
        "high",
        "--justification",
        "Public complaints.",
        "--json",
        user="rita",
    )
    assert done.exit_code == 0, done.stderr
    assert (json.loads(done.stdout)["tier"], json.loads(done.stdout)["computed_tier"]) == (
        "high",
        "medium",
    )

    shown = json.loads(run("risk", "show", "credit-logit", "--json").stdout)
    assert shown["current"]["tier"] == "high" and shown["current"]["computed_tier"] == "medium"
    assert shown["current"]["overrides"][0]["justification"] == "Public complaints."
    assert shown["overdue"] is False and shown["needs_review"] is False


def test_incomplete_answers_are_refused_naming_the_questions(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    answers = dict(DEMO_ANSWERS["credit-logit"][0], consumers="everyone")
    del answers["decay"]
    result = run(
        "risk", "assess", "credit-logit", "--answers", _answers(tmp_path, answers), user="rita"
    )
    assert result.exit_code != 0
    assert result.stderr.splitlines() == [
        "error: No answer to decay; answer every question (list them with `gatehouse risk questions`).",
        "error: The answer 'everyone' to 'consumers' is not one of its choices; use one of "
        "internal_few, internal_many, customers, public.",
    ]
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    listed = run("risk", "assess", "credit-logit", "--answers", str(bad), user="rita")
    assert listed.stderr == (
        "error: The answers file list.yaml does not map question ids to choices; write it as YAML "
        "'question_id: choice' lines.\n"
    )


def test_policy_validate_load_show_diff(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "pack.yaml"
    good.write_text(shipped_pack_text().replace("review_every_days: 365", "review_every_days: 300"))
    valid = run("policy", "validate", str(good))
    assert valid.exit_code == 0
    assert valid.stdout.startswith("pack.yaml is a valid policy pack: 'Gatehouse default policy'")

    bad = tmp_path / "bad.yaml"
    text = shipped_pack_text().replace("accountable: validator", "accountable: [validator, sme]", 1)
    text = text.replace(
        "    min_selection_rate_ratio:\n      value: 0.8",
        "    min_selection_rate_ratio:\n      value: 1.5",
        1,
    )
    bad.write_text(text)
    refused = run("policy", "validate", str(bad))
    assert refused.exit_code != 0
    lines = refused.stderr.splitlines()
    accountable = next(i + 1 for i, t in enumerate(text.splitlines()) if "[validator, sme]" in t)
    assert (
        f"error: bad.yaml, line {accountable}, tiers.high.gates[4].accountable: gate preproduction "
        "has 2 Accountable roles (validator, sme); name exactly one."
    ) in lines
    assert (
        sum("min_selection_rate_ratio is 1.5, outside 0 to 1" in t for t in lines) == 4
    )  # every tier
    load_bad = run("policy", "load", str(bad), "--json", user="ada")
    assert load_bad.exit_code != 0 and load_bad.stderr == refused.stderr
    assert run("policy", "load", str(good), "--json", user="rita").exit_code != 0  # admins only

    loaded = run("policy", "load", str(good), "--json", user="ada")
    assert loaded.exit_code == 0, loaded.stderr
    assert json.loads(loaded.stdout)["version"] == 2
    again = json.loads(run("policy", "load", str(good), "--json", user="ada").stdout)
    assert (again["version"], again["created"]) == (2, False)

    shown = json.loads(run("policy", "show", "--version", "1", "--json").stdout)
    gate = shown["pack"]["tiers"]["high"]["gates"][3]
    assert gate["id"] == "validation"
    assert {k: gate[k] for k in ("responsible", "accountable", "consulted", "informed")} == {
        "responsible": ["validator"], "accountable": "risk_manager",
        "consulted": ["model_owner", "compliance"], "informed": ["sme"],
    }  # fmt: skip
    perf = gate["evidence"][0]
    assert perf["thresholds"]["roc_auc"] == {
        "value": 0.7,
        "basis": "default model standard: ROC AUC of at least 0.70 (Gini 0.40) on held-out data",
    }
    assert json.loads(run("policy", "show", "--json").stdout)["version"] == 2
    missing = run("policy", "show", "--version", "7")
    assert missing.stderr == "error: No policy version 7; the published versions are 1, 2.\n"

    diff = json.loads(run("policy", "diff", "1", "2", "--json").stdout)
    assert diff == [{"key": "tiers.medium.review_every_days", "old": 365, "new": 300}]
    text_diff = run("policy", "diff", "1", "2")
    assert text_diff.stdout == "tiers.medium.review_every_days: 365 -> 300\n"

    adopted = run(
        "policy", "adopt", "2", "--all", "--reason", "annual update", "--json", user="rita"
    )
    assert adopted.exit_code == 0, adopted.stderr
    assert json.loads(adopted.stdout) == {"version": 2, "models": ["credit-logit"]}

"""`gatehouse gate` and `gatehouse reviews`: signing from the command line, refusals on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.demo.risk import DEMO_ANSWERS
from core.services.gates import WAIVE_ROLE, WAIVER_CONTROLS
from tests.core.test_cli_governance import PASSWORD, _answers
from tests.core.test_cli_governance import run as run  # the fixture, reused


@pytest.fixture
def gated(run, tmp_path: Path):  # type: ignore[no-untyped-def]
    """credit-logit assessed medium by the risk manager: its gates are open."""
    for name, role in (("sam", "sme"), ("carla", "compliance")):
        added = run("user", "add", name, "--role", role, input=PASSWORD + "\n", user=None)
        assert added.exit_code == 0, added.stderr
    answers = _answers(tmp_path, DEMO_ANSWERS["credit-logit"][0])
    assessed = run("risk", "assess", "credit-logit", "--answers", answers, "--json", user="rita")
    assert assessed.exit_code == 0, assessed.stderr
    shown = run("model", "show", "credit-logit:1", "--json")
    assert shown.exit_code == 0, shown.stderr
    return run, json.loads(shown.stdout)["versions"][0]["version_id"]


def _gate(run, version_id: int, gate: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    status = run("gate", "status", str(version_id), "--json")
    assert status.exit_code == 0, status.stderr
    return next(g for g in json.loads(status.stdout)["gates"] if g["id"] == gate)


def test_signing_acts_and_their_refusals_on_the_command_line(gated) -> None:  # type: ignore[no-untyped-def]
    run, vid = gated
    scoping = _gate(run, vid, "business_scoping")
    assert scoping["state"] == "in progress"
    assert (scoping["responsible"], scoping["accountable"]) == (["sme"], "model_owner")
    assert scoping["consulted"] == ["compliance"] and scoping["informed"] == ["risk_manager"]
    assert scoping["required_evidence"][0]["kind"] == "card_fields"
    v = str(vid)

    # Not Responsible here: the developer is refused, with the rule, on stderr.
    wrong_role = run("gate", "submit", v, "business_scoping", "--meaning", "I submit.", user="devi")
    assert wrong_role.exit_code != 0 and wrong_role.stdout == ""
    assert wrong_role.stderr.startswith("error: ") and wrong_role.stderr.count("\n") == 1
    # A wrong password is refused before anything is signed.
    bad = run(
        "gate", "submit", v, "business_scoping", "--meaning", "I submit.", "--json", user="sam",
        password="not it",
    )  # fmt: skip
    assert bad.exit_code != 0 and "password is wrong" in bad.stderr and bad.stdout == ""
    assert _gate(run, vid, "business_scoping")["state"] == "in progress"

    submitted = run(
        "gate", "submit", v, "business_scoping", "--meaning", "I submit the scoping.",
        "--comment", "Purpose agreed with Lending.", "--json", user="sam",
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.stderr
    signed = json.loads(submitted.stdout)
    assert (signed["state"], signed["signer"], signed["role"]) == ("submitted", "sam", "sme")
    assert len(signed["manifest_sha256"]) == 64

    opinion = run(
        "gate", "opinion", v, "business_scoping", "--opinion", "concern",
        "--meaning", "I give my opinion.", "--json", user="carla",
    )  # fmt: skip
    assert opinion.exit_code == 0, opinion.stderr
    waiting = json.loads(run("reviews", "--json", user="olivia").stdout)
    assert any(w["gate"] == "business_scoping" and w["version_id"] == vid for w in waiting)

    # The card lacks the fields the gate requires: approval is refused, naming them.
    blocked = run("gate", "approve", v, "business_scoping", "--meaning", "I approve.", "--json")
    assert blocked.exit_code != 0 and "intended_use" in blocked.stderr
    assert _gate(run, vid, "business_scoping")["state"] == "submitted"

    waive = ("gate", "waive", v, "business_scoping", "--check", "card_fields", "--justification")
    not_rm = run(*waive, "Agreed.", "--controls", "Weekly review.", "--expires", "2099-01-01")
    assert not_rm.stderr == "error: " + WAIVE_ROLE.format(who="olivia") + "\n"
    no_controls = run(*waive, "Agreed.", "--controls", " ", "--expires", "2099-01-01", user="rita")
    assert no_controls.exit_code != 0 and no_controls.stderr == f"error: {WAIVER_CONTROLS}\n"

    rejected = run(
        "gate", "reject", v, "business_scoping", "--meaning", "I reject the scoping.",
        "--comment", "Write the intended use first.", "--json",
    )  # fmt: skip
    assert rejected.exit_code == 0, rejected.stderr
    after = _gate(run, vid, "business_scoping")
    assert after["state"] == "rejected"
    assert [s["act"] for s in after["signatures"]] == ["submit", "opinion", "reject"]
    assert after["signatures"][-1]["comment"] == "Write the intended use first."

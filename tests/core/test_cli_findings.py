"""`gatehouse findings`: JSON on stdout, refusals as sentences on stderr with a non-zero exit,
and the password of a signing act from GATEHOUSE_PASSWORD or standard input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from core.cli import main
from core.demo.data import TARGET, DemoFiles

PASSWORD = "a long enough password"


@pytest.fixture
def run(db_url: str, demo_files: DemoFiles):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(
        *args: str, user: str | None = "devi", input: str | None = None, password: str = PASSWORD
    ) -> Result:
        env = {"GATEHOUSE_USER": user or "", "GATEHOUSE_PASSWORD": password}
        return runner.invoke(main, list(args), env=env, input=input)

    assert invoke("init", "--json", user=None).exit_code == 0
    for name, role in (("olivia", "model_owner"), ("rita", "risk_manager"), ("devi", "developer")):
        added = invoke("user", "add", name, "--role", role, input=PASSWORD + "\n", user=None)
        assert added.exit_code == 0, added.stderr
    registered = invoke(
        "model", "register", "--name", "credit-logit", "--artifact",
        str(demo_files.model_paths["credit-logit"]), "--eval", str(demo_files.eval_csv),
        "--target", TARGET, "--json",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.stderr
    return invoke


def test_raise_list_update_and_show_from_the_command_line(run) -> None:  # type: ignore[no-untyped-def]
    # Monitoring raises as the operator: no user.
    raised = run(
        "findings", "raise", "1", "--type", "drift", "--severity", "critical",
        "--description", "PSI of income is 0.31 in batch 2027-01.", "--evidence", "batch 2027-01",
        "--json", user=None,
    )  # fmt: skip
    assert raised.exit_code == 0, raised.stderr
    finding = json.loads(raised.stdout)
    assert (finding["status"], finding["owner"], finding["raised_by"]) == (
        "open",
        "devi",
        "operator",
    )
    assert finding["evidence_links"] == ["batch 2027-01"]
    listed = run("findings", "list", "--model", "credit-logit", "--status", "open", "--json")
    assert [f["id"] for f in json.loads(listed.stdout)] == [finding["id"]]
    assert json.loads(run("findings", "list", "--status", "resolved", "--json").stdout) == []

    # Someone without a role on the model is refused; the developer may not close it unsigned.
    outsider = run("findings", "update", "1", "--status", "in_remediation", user="olivia")
    assert outsider.exit_code == 1
    assert outsider.stderr.startswith("error: olivia may not change a finding on credit-logit")
    closing = run("findings", "update", "1", "--status", "resolved", "--json")
    assert closing.exit_code == 1
    assert "is a signing act of a risk manager; devi is not one" in closing.stderr
    assert closing.stdout == ""
    plan = run("findings", "update", "1", "--status", "in_remediation", "--plan", "Retrain.")
    assert plan.exit_code == 0, plan.stderr

    # The risk manager signs with the password on standard input.
    wrong = run("findings", "update", "1", "--status", "resolved", user="rita", password="",
                input="not the password\n")  # fmt: skip
    assert wrong.exit_code == 1 and "error:" in wrong.stderr
    signed = run(
        "findings", "update", "1", "--status", "resolved", "--comment", "PSI back to 0.04.",
        "--json", user="rita", password="", input=PASSWORD + "\n",
    )  # fmt: skip
    assert signed.exit_code == 0, signed.stderr
    assert json.loads(signed.stdout)["status"] == "resolved"
    shown = json.loads(run("findings", "show", "1", "--json").stdout)
    assert [h["status_after"] for h in shown["history"]] == ["open", "in_remediation", "resolved"]
    last = shown["history"][-1]
    assert last["signed"] and last["actor"] == "rita" and len(last["manifest_sha256"]) == 64
    assert last["meaning"] == "I confirm finding 1 on version 1 of credit-logit is resolved."


def test_bad_input_is_refused_with_every_problem(run) -> None:  # type: ignore[no-untyped-def]
    bad = run(
        "findings", "raise", "1", "--type", "business", "--severity", "low", "--description",
        " ", "--evidence", "", "--due", "next week",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert bad.stderr.splitlines() == ["error: 'next week' is not a date; write it as 2027-03-31."]
    empty = run(
        "findings", "raise", "1", "--type", "business", "--severity", "low", "--description",
        " ", "--evidence", "",
    )  # fmt: skip
    assert empty.exit_code == 1 and len(empty.stderr.splitlines()) == 2
    missing = run("findings", "update", "42", "--status", "open")
    assert missing.exit_code == 1 and "There is no finding 42" in missing.stderr

"""The gatehouse command: JSON on stdout, one sentence per problem on stderr, non-zero exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main
from core.demo.data import SENSITIVE, TARGET, DemoFiles, write_demo_files

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return write_demo_files(tmp_path_factory.mktemp("cli-demo"), n_rows=2000)


@pytest.fixture
def run(db_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, user: str | None = "devi"):  # type: ignore[no-untyped-def]
        env = (
            {"GATEHOUSE_USER": user, "GATEHOUSE_PASSWORD": PASSWORD}
            if user
            else {"GATEHOUSE_USER": ""}
        )
        return runner.invoke(main, list(args), input=input, env=env)

    assert invoke("init", "--json").exit_code == 0
    for name, role in (("devi", "developer"), ("sam", "sme")):
        result = invoke("user", "add", name, "--role", role, input=PASSWORD + "\n", user=None)
        assert result.exit_code == 0, result.stderr
    return invoke


def _register(run, files: DemoFiles, *extra: str):  # type: ignore[no-untyped-def]
    args = ["model", "register", "--name", "credit-gbm", "--artifact", str(files.model_paths["credit-gbm"]),
            "--eval", str(files.eval_csv), "--train", str(files.train_csv), "--target", TARGET]  # fmt: skip
    for column in SENSITIVE:
        args += ["--sensitive", column]
    return run(*args, *extra, "--json")


def test_init_reports_the_revision(run) -> None:  # type: ignore[no-untyped-def]
    result = run("init", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["revision"]


def test_user_list_and_duplicate_user(run) -> None:  # type: ignore[no-untyped-def]
    listed = json.loads(run("user", "list", "--json", user=None).stdout)
    assert [(u["username"], u["roles"]) for u in listed] == [
        ("devi", ["developer"]),
        ("sam", ["sme"]),
    ]
    again = run("user", "add", "devi", "--role", "sme", input=PASSWORD + "\n", user=None)
    assert again.exit_code == 1
    assert again.stderr == "error: The username 'devi' is taken; choose another username.\n"
    refused = run("user", "list", "--json", user="sam")
    assert refused.exit_code == 1 and "sam may not list users" in refused.stderr


def test_register_from_a_pipeline_is_idempotent(run, demo_files: DemoFiles) -> None:  # type: ignore[no-untyped-def]
    first = _register(run, demo_files)
    assert first.exit_code == 0, first.stderr
    out = json.loads(first.stdout)
    assert set(out) >= {"model_id", "version_id", "version", "artifact_sha256"}
    assert out["version"] == 1 and out["created"] is True
    second = json.loads(_register(run, demo_files).stdout)
    assert (second["version_id"], second["created"]) == (out["version_id"], False)

    listed = json.loads(run("model", "list", "--json", user="sam").stdout)
    assert [(m["name"], m["stage"], m["version"]) for m in listed] == [
        ("credit-gbm", "development", 1)
    ]
    shown = json.loads(run("model", "show", "credit-gbm:1", "--json", user="sam").stdout)
    assert shown["versions"][0]["artifact_sha256"] == out["artifact_sha256"]
    assert shown["versions"][0]["sensitive"] == list(SENSITIVE)
    csv_text = run("model", "export", user="sam").stdout
    assert csv_text.splitlines()[1].startswith("credit-gbm,")


def test_bad_registration_is_one_sentence_each_and_exit_1(run, demo_files: DemoFiles) -> None:  # type: ignore[no-untyped-def]
    result = _register(run, demo_files, "--target", "repaid", "--sensitive", "race")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines)
    assert any("target column 'repaid'" in line for line in lines)
    assert any("['race']" in line for line in lines)
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_commands_that_act_as_a_person_say_how_to_sign_in(run, demo_files: DemoFiles) -> None:  # type: ignore[no-untyped-def]
    result = run("model", "list", user=None)
    assert result.exit_code == 1
    assert "set GATEHOUSE_USER and GATEHOUSE_PASSWORD" in result.stderr


def test_missing_artifact_path_is_refused(run, demo_files: DemoFiles, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("model", "register", "--name", "x1", "--artifact", str(tmp_path / "nope.skops"),
                 "--eval", str(demo_files.eval_csv), "--target", TARGET)  # fmt: skip
    assert result.exit_code == 1 and "nope.skops" in result.stderr


def test_evaluate_stores_evidence_and_prints_each_check(run, demo_files: DemoFiles) -> None:  # type: ignore[no-untyped-def]
    version_id = json.loads(_register(run, demo_files).stdout)["version_id"]
    result = run("evaluate", str(version_id), "--segment", "region", "--bootstrap", "100", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["performance"]["status"] == "pass" and out["fairness"]["status"] == "fail"
    failed = {c["feature"] for c in out["fairness"]["checks"] if c["status"] == "fail"}
    assert "age_band" in failed and "sex" not in failed
    again = json.loads(
        run(
            "evaluate", str(version_id), "--segment", "region", "--bootstrap", "100", "--json"
        ).stdout
    )
    assert (
        again["fairness"]["sha256"] == out["fairness"]["sha256"] and again["fairness"]["reproduced"]
    )
    text = run("evaluate", str(version_id), "--bootstrap", "0").stdout
    assert "[fail] Selection-rate ratio (four-fifths rule) for age_band" in text


def test_evaluate_refusals_are_one_sentence_on_stderr(run, demo_files: DemoFiles) -> None:  # type: ignore[no-untyped-def]
    version_id = json.loads(_register(run, demo_files).stdout)["version_id"]
    missing = run("evaluate", "999", "--json")
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.strip().startswith("error: No model version with id 999")
    assert len(missing.stderr.strip().splitlines()) == 1
    refused = run("evaluate", str(version_id), user="sam")
    assert refused.exit_code == 1 and "may not compute evidence" in refused.stderr
    bad = run("evaluate", str(version_id), "--sensitive", "nationality")
    assert bad.exit_code == 1 and "nationality" in bad.stderr and "Traceback" not in bad.stderr


def test_every_command_is_found_where_the_table_says_and_light_commands_stay_light() -> None:
    """Each module registers exactly the commands COMMAND_MODULES sends to it, and a process that
    runs a light command never imports scikit-learn, SHAP or WeasyPrint."""
    import importlib
    import subprocess
    import sys

    from core.cli.base import COMMAND_MODULES

    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(module)
    assert set(main.commands) == set(COMMAND_MODULES)
    probe = (
        "import sys\n"
        "from core.cli import main\n"
        "try:\n"
        "    main(['user', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('sklearn', 'shap', 'weasyprint') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"

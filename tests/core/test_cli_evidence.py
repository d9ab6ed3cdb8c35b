"""`gatehouse evidence list/show`: stored evidence whole, for pipelines that act on it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, col, select

from core.cli import main
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.services.evidence import evidence_hash
from core.tables import Evidence

PASSWORD = "a long enough password"


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, user: str | None = "devi", stdin: str | None = None) -> Result:
        env = {"GATEHOUSE_USER": user or "", "GATEHOUSE_PASSWORD": PASSWORD if user else ""}
        return self.runner.invoke(main, list(args), input=stdin, env=env)


@pytest.fixture
def cli(db_url: str) -> Cli:
    run = Cli()
    for name, role in (("devi", "developer"), ("sam", "sme")):
        added = run("user", "add", name, "--role", role, user=None, stdin=PASSWORD + "\n")
        assert added.exit_code == 0, added.stderr
    return run


@pytest.fixture
def evaluated(cli: Cli, demo_files: DemoFiles) -> int:
    args = ["model", "register", "--name", "credit-gbm", "--artifact",
            str(demo_files.model_paths["credit-gbm"]), "--eval", str(demo_files.eval_csv),
            "--target", TARGET, "--json"]  # fmt: skip
    for column in SENSITIVE:
        args += ["--sensitive", column]
    version_id = int(json.loads(cli(*args).stdout)["version_id"])
    done = cli("evaluate", str(version_id), "--bootstrap", "50", "--json")
    assert done.exit_code == 0, done.stderr
    return version_id


def test_list_prints_every_row_whole_as_stored(cli: Cli, evaluated: int, session: Session) -> None:
    listed = cli("evidence", "list", str(evaluated), "--json", user="sam")  # every reader may
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    stored = session.exec(
        select(Evidence).where(Evidence.version_id == evaluated).order_by(col(Evidence.id).desc())
    ).all()
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    assert [r["evidence_id"] for r in rows] == [e.id for e in stored]
    for row, evidence in zip(rows, stored, strict=True):
        assert (row["kind"], row["sha256"], row["status"]) == (
            evidence.kind,
            evidence.sha256,
            evidence.status,
        )
        assert row["results"] == json.loads(evidence.results_json)
        assert row["config"] == json.loads(evidence.config_json)
        assert row["inputs"] == json.loads(evidence.inputs_json)
        assert row["intact"] is True
        # Whole enough for a pipeline to check the hash itself.
        assert row["sha256"] == evidence_hash(
            kind=row["kind"],
            version_id=row["version_id"],
            inputs=row["inputs"],
            config=row["config"],
            environment=row["environment"],
            results=row["results"],
        )
    assert {r["kind"] for r in rows} == {"performance", "fairness"}
    shown = cli("evidence", "list", str(evaluated))
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout.splitlines()
    assert [line.split()[:2] for line in text] == [[str(e.id), e.kind] for e in stored]


def test_show_prints_one_row_whole(cli: Cli, evaluated: int) -> None:
    rows = json.loads(cli("evidence", "list", str(evaluated), "--json").stdout)
    performance = next(r for r in rows if r["kind"] == "performance")
    shown = cli("evidence", "show", str(performance["evidence_id"]), "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout) == performance
    only = json.loads(
        cli("evidence", "list", str(evaluated), "--kind", "fairness", "--json").stdout
    )
    assert [r["kind"] for r in only] == ["fairness"]


def test_unknown_ids_and_anonymous_readers_get_one_sentence(cli: Cli, evaluated: int) -> None:
    missing = cli("evidence", "show", "9999", "--json")
    assert (missing.exit_code, missing.stdout) == (1, "")
    assert missing.stderr.strip() == (
        "error: No evidence with id 9999; list a version's evidence on its model page."
    )
    no_version = cli("evidence", "list", "9999", "--json")
    assert no_version.exit_code == 1
    assert no_version.stderr.strip().startswith("error: No model version with id 9999")
    anonymous = cli("evidence", "list", str(evaluated), user=None)
    assert anonymous.exit_code == 1 and "GATEHOUSE_USER" in anonymous.stderr

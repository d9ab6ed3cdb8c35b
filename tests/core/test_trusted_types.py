"""The allowlist of extra skops types: admins keep it, audited; registrants never decide."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sqlmodel import Session, select

from core.cli import main
from core.cli.models import TRUSTED_FLAG_GONE
from core.errors import InputProblems, NotFound, PermissionDenied
from core.files.artifacts import UntrustedArtifact
from core.services.evidence import evaluate_version
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.trusted_types import (
    BUILT_IN,
    DENIED_NAME,
    add_trusted_type,
    list_trusted_types,
    remove_trusted_type,
    trusted_type_names,
)
from core.services.users import add_user
from core.tables import AuditEvent, ModelVersion, User
from tests.core.hostile_files import constructor_node, json_node, with_protocol, write_skops

PASSWORD = "a long enough password"
FUNCTION_TRANSFORMER = "sklearn.preprocessing._function_transformer.FunctionTransformer"


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    users = {
        name: add_user(
            session=session, actor=OPERATOR, username=name, password=PASSWORD, roles=[role]
        )
        for name, role in (("ada", "admin"), ("devi", "developer"))
    }
    session.commit()
    return users


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("trusted")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = (frame["a"] + rng.normal(size=300) > 0).astype(int)
    frame.to_csv(folder / "eval.csv", index=False)
    model = make_pipeline(FunctionTransformer(np.abs), LogisticRegression())
    model.fit(frame[["a", "b"]], frame["y"])
    skops.io.dump(model, folder / "abs.skops")
    marker = folder / "ran.marker"
    schema = with_protocol(constructor_node("posix.system", json_node(f"touch {marker}")))
    write_skops(folder / "system.skops", schema)
    return {"eval": folder / "eval.csv", "abs": folder / "abs.skops",
            "system": folder / "system.skops", "marker": marker}  # fmt: skip


def _register(session: Session, actor: User, files: dict[str, Path], artifact: str) -> object:
    return register_version(
        session=session, actor=actor, name="abs-model", artifact=files[artifact],
        eval_data=files["eval"], target="y",
    )  # fmt: skip


def _actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all())  # type: ignore[arg-type]


def test_an_admin_trusts_a_type_audited_and_registration_then_loads(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    with pytest.raises(InputProblems) as refused:
        _register(session, people["devi"], files, "abs")
    assert any("trust-type add" in p for p in refused.value.problems)
    assert _actions(session)[-1] == "registration_refused"

    for name in (FUNCTION_TRANSFORMER, "numpy.absolute"):
        add_trusted_type(session=session, actor=people["ada"], type_name=name, reason="reviewed")
    session.commit()
    assert trusted_type_names(session=session) == ("numpy.absolute", FUNCTION_TRANSFORMER)
    listed = list_trusted_types(session=session, actor=people["ada"])
    assert [(t.type_name, t.added_by) for t in listed] == [
        ("numpy.absolute", "ada"),
        (FUNCTION_TRANSFORMER, "ada"),
    ]
    assert _actions(session)[-2:] == ["trusted_type_added", "trusted_type_added"]

    result = _register(session, people["devi"], files, "abs")
    version = session.get(ModelVersion, result.version_id)  # type: ignore[attr-defined]
    assert version is not None

    evaluated = evaluate_version(session=session, actor=OPERATOR, version_id=version.id, n_boot=0)  # type: ignore[arg-type]
    assert evaluated.performance.status is not None

    remove_trusted_type(session=session, actor=people["ada"], type_name="numpy.absolute")
    session.commit()
    assert _actions(session)[-1] == "trusted_type_removed"
    assert trusted_type_names(session=session) == (FUNCTION_TRANSFORMER,)
    with pytest.raises(UntrustedArtifact, match=r"\['numpy.absolute'\]"):  # the list applies now
        evaluate_version(session=session, actor=OPERATOR, version_id=version.id, n_boot=0)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        remove_trusted_type(session=session, actor=people["ada"], type_name="numpy.absolute")


def test_only_admins_keep_the_list_and_denied_types_cannot_be_added(
    session: Session, people: dict[str, User]
) -> None:
    with pytest.raises(PermissionDenied):
        add_trusted_type(session=session, actor=people["devi"], type_name="a.b", reason="mine")
    with pytest.raises(PermissionDenied):
        list_trusted_types(session=session, actor=people["devi"])
    for name in ("posix.system", "builtins.eval", "subprocess.run", "os.path.join"):
        with pytest.raises(InputProblems) as caught:
            add_trusted_type(session=session, actor=people["ada"], type_name=name, reason="x")
        assert caught.value.problems == [DENIED_NAME.format(name=name)]
    with pytest.raises(InputProblems) as caught:
        add_trusted_type(session=session, actor=OPERATOR, type_name="numpy.ndarray", reason="")
    assert caught.value.problems[0] == BUILT_IN.format(name="numpy.ndarray")
    assert len(caught.value.problems) == 2  # and the missing reason
    assert trusted_type_names(session=session) == ()


def test_a_denied_callable_in_a_registration_is_refused_audited_and_never_runs(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    with pytest.raises(InputProblems) as caught:
        _register(session, people["devi"], files, "system")
    text = " ".join(caught.value.problems)
    assert "posix.system" in text and "trust" not in text.replace("trusted", "")
    events = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).all()  # type: ignore[union-attr]
    assert events[0].action == "registration_refused"
    assert "posix.system" in json.loads(events[0].details)["problems"][0]
    assert not files["marker"].exists()


def test_the_cli_refuses_self_trust_and_admins_trust_through_it(
    db_url: str, files: dict[str, Path]
) -> None:
    runner = CliRunner()
    operator = {"GATEHOUSE_USER": ""}
    assert runner.invoke(main, ["init"], env=operator).exit_code == 0
    added = runner.invoke(main, ["user", "add", "devi", "--role", "developer"],
                          input=PASSWORD + "\n", env=operator)  # fmt: skip
    assert added.exit_code == 0, added.stderr
    devi = {"GATEHOUSE_USER": "devi", "GATEHOUSE_PASSWORD": PASSWORD}
    result = runner.invoke(
        main,
        ["model", "register", "--name", "x", "--artifact", str(files["system"]),
         "--eval", str(files["eval"]), "--target", "y", "--trusted", "posix.system"],
        env=devi,
    )  # fmt: skip
    assert result.exit_code != 0
    assert result.stderr.strip() == f"error: {TRUSTED_FLAG_GONE}"
    assert not files["marker"].exists()

    result = runner.invoke(main, ["admin", "trust-type", "add", "posix.system", "--reason", "x"],
                           env=operator)  # fmt: skip
    assert result.exit_code != 0
    assert result.stderr.strip() == "error: " + DENIED_NAME.format(name="posix.system")
    result = runner.invoke(main, ["admin", "trust-type", "add", "numpy.absolute",
                                  "--reason", "a ufunc", "--json"], env=operator)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["type_name"] == "numpy.absolute"
    listed = runner.invoke(main, ["admin", "trust-type", "list", "--json"], env=operator)
    assert [r["type_name"] for r in json.loads(listed.stdout)] == ["numpy.absolute"]
    refused = runner.invoke(main, ["admin", "trust-type", "list"], env=devi)
    assert refused.exit_code != 0 and "admin" in refused.stderr
    removed = runner.invoke(main, ["admin", "trust-type", "remove", "numpy.absolute"], env=operator)
    assert removed.exit_code == 0 and "Removed numpy.absolute" in removed.stdout

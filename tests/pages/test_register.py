"""The Register page: upload a model and its data; bad input is listed, nothing is half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.demo.data import DemoFiles
from core.tables import ModelEntry, ModelVersion

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "register.py")


def _fill(at, demo_files: DemoFiles, *, target: str, artifact: bytes | None = None):  # type: ignore[no-untyped-def]
    at.text_input(key="reg_name").input("uploaded-gbm")
    model = demo_files.model_paths["credit-gbm"]
    at.file_uploader(key="reg_artifact").set_value(
        (model.name, artifact or model.read_bytes(), "application/octet-stream")
    )
    at.file_uploader(key="reg_eval").set_value(
        ("eval.csv", demo_files.eval_csv.read_bytes(), "text/csv")
    )
    at.text_input(key="reg_target").input(target)
    at.text_input(key="reg_sensitive").input("sex, age_band")
    at.button(key="FormSubmitter:register-Register").click().run()
    return at


def test_developer_registers_by_upload(
    signed_in,
    demo_files: DemoFiles,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    at = signed_in("developer")
    at.switch_page(PAGE).run()
    at = _fill(at, demo_files, target="approved")
    assert not at.exception and not at.error
    assert "Registered uploaded-gbm version 1" in at.success[0].value
    model = session.exec(select(ModelEntry).where(ModelEntry.name == "uploaded-gbm")).one()
    version = session.exec(select(ModelVersion).where(ModelVersion.model_id == model.id)).one()
    assert version.estimator_class == "sklearn.pipeline.Pipeline"


def test_bad_upload_lists_every_problem_and_keeps_the_form(
    signed_in,
    demo_files: DemoFiles,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    at = signed_in("developer")
    at.switch_page(PAGE).run()
    at = _fill(at, demo_files, target="repaid", artifact=b"\x80\x04K\x01.")
    errors = [e.value for e in at.error]
    assert any("pickle/joblib file" in e for e in errors)
    assert any("target column 'repaid'" in e for e in errors)
    assert at.text_input(key="reg_target").value == "repaid"
    assert session.exec(select(ModelEntry)).all() == []

"""The Findings page: the register across the portfolio with its filters (from the URL too),
raising a finding, changing one, the signed close of a high finding, refusals in one sentence,
hostile text shown literally, and overdue findings flagged."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.finding_forms import CONFIRM_FIRST
from app.ui import escape_markdown
from core.services.finding_views import finding_history, get_finding
from core.services.findings import SIGNER_NEEDED, FindingUpdate, raise_finding, update_finding
from core.services.permissions import OPERATOR
from core.services.signatures import WRONG_SIGNING_PASSWORD
from core.services.users import get_user
from core.tables import AuditEvent, Finding
from tests.pages.conftest import DEMO_PASSWORD, texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "findings.py")
MODEL_PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "model.py")
HOSTILE = "**Bold** <script>alert(1)</script> [click](javascript:alert(1)) $x$ # heading"


def _raise(session: Session, version_id: int, **kw: object) -> int:
    fields: dict[str, object] = {
        "type": "business",
        "severity": "low",
        "description": "Approvals in the north region run 20% below what branches see.",
    } | kw
    view = raise_finding(session=session, actor=OPERATOR, version_id=version_id, **fields)  # type: ignore[arg-type]
    session.commit()
    return view.id


@pytest.fixture
def findings(session: Session, demo_models: dict[str, int]) -> dict[str, int]:
    """A critical and a low finding on credit-gbm, a high one on credit-logit, the low one
    long overdue."""
    out = {
        "critical": _raise(session, demo_models["credit-gbm"], severity="critical"),
        "low": _raise(session, demo_models["credit-gbm"], due=date.today() - timedelta(days=3)),
        "high": _raise(session, demo_models["credit-logit"], severity="high", type="validation"),
    }
    return out


def _page(at, **params: str):  # type: ignore[no-untyped-def]
    at.query_params.clear()
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _ids(at) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(i) for i in at.dataframe[0].value["Id"]]


def _open(at, row: int):  # type: ignore[no-untyped-def]
    """Select a row's Open cell, as a person clicks it."""
    at.session_state["findings_table"] = {
        "selection": {"rows": [], "columns": [], "cells": [[row, "Open"]]}
    }
    return at.run()


def test_the_register_lists_every_finding_and_filters_from_the_url_and_the_controls(
    signed_in, findings: dict[str, int]
) -> None:  # type: ignore[no-untyped-def]
    at = _page(signed_in("auditor"))
    assert [t.value for t in at.title] == ["Findings"]
    # Open ones first, most severe first.
    assert _ids(at) == [findings["critical"], findings["high"], findings["low"]]
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["credit-gbm", "credit-logit", "credit-gbm"]
    assert list(table["Overdue"]) == ["", "", "overdue"]

    # The Dashboard's link to the open critical findings preselects the filters.
    at = _page(at, severity="critical", open="1")
    assert at.selectbox(key="findings_filter_severity").value == "critical"
    assert at.toggle(key="findings_filter_open").value is True
    assert _ids(at) == [findings["critical"]]

    at = _page(at, overdue="1")
    assert _ids(at) == [findings["low"]]
    at = _page(at, type="validation")
    assert _ids(at) == [findings["high"]]

    # A control changed goes into the URL, so the address can be shared.
    at = _page(at)
    picker = at.selectbox(key="findings_filter_model")
    picker.select_index(picker.options.index("credit-logit")).run()
    assert _ids(at) == [findings["high"]]
    model_param = at.query_params["model"]
    at.toggle(key="findings_filter_open").set_value(True).run()
    assert at.query_params["open"] == "1" and at.query_params["model"] == model_param
    at.toggle(key="findings_filter_open").set_value(False).run()
    assert "open" not in at.query_params


def test_raising_a_finding_from_the_page(
    signed_in, findings: dict[str, int], demo_models: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    at = _page(signed_in("sme"))
    picker = at.selectbox(key="findings_raise_model")
    picker.select_index(picker.options.index("credit-gbm")).run()
    model_id = at.selectbox(key="findings_raise_model").value
    form = f"findings_raise_{model_id}"
    at.selectbox(key=f"{form}_type").select("business").run()
    at.selectbox(key=f"{form}_severity").select("high")
    at.text_area(key=f"{form}_description").input("Young applicants are declined far more.")
    at.text_area(key=f"{form}_evidence").input("record 1042\n\nhttps://example.org/batch/7\n")
    at.date_input(key=f"{form}_due").set_value(date(2031, 3, 31))
    at.button(key=f"FormSubmitter:{form}-Raise finding").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    row = session.exec(select(Finding).order_by(Finding.id.desc())).first()  # type: ignore[union-attr]
    assert row is not None
    assert (row.version_id, row.type, row.severity, row.status) == (
        demo_models["credit-gbm"],
        "business",
        "high",
        "open",
    )
    assert row.description == "Young applicants are declined far more."
    assert json.loads(row.evidence_json) == ["record 1042", "https://example.org/batch/7"]
    assert row.due_date == date(2031, 3, 31)
    assert row.owner_id == get_user(session=session, username="devi").id  # the model's owner
    assert row.raised_by_name == "Sam Subject-Expert"
    event = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "finding_raised", AuditEvent.subject_id == str(row.id)
        )
    ).one()
    session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    assert json.loads(event.details)["severity"] == "high"
    # The page opens the new finding and says it was raised.
    assert at.query_params["finding"] == str(row.id)
    assert any(f"Raised finding {row.id}" in s.value for s in at.success)
    assert any(f"Finding {row.id}" in h.value for h in at.subheader)


def test_an_auditor_reads_but_is_offered_no_form(signed_in, findings: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    at = _page(signed_in("auditor"), finding=str(findings["low"]))
    assert any(f"Finding {findings['low']}" in h.value for h in at.subheader)
    labels = [str(b.label) for b in at.button]
    assert "Save change" not in labels and "Raise finding" not in labels
    # Why, in the core's sentence: auditors read everything and change nothing.
    assert "audrey may not change a finding on credit-gbm" in texts(at)
    assert "audrey may not raise a finding on " in texts(at)


def test_updating_the_status_records_it_in_the_history(
    signed_in, findings: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    fid = findings["low"]
    at = _page(signed_in("sme"))
    _open(at, _ids(at).index(fid))
    assert not at.exception
    assert at.query_params["finding"] == str(fid)
    prefix = f"finding_{fid}_r1"
    at.selectbox(key=f"{prefix}_status").select("in_remediation").run()
    assert not [c for c in at.checkbox if c.label == "I confirm the meaning above"]
    at.text_area(key=f"{prefix}_plan").input("Retrain with the new bureau feed.")
    at.text_area(key=f"{prefix}_comment").input("Work starts Monday.")
    at.button(key=f"FormSubmitter:{prefix}-Save change").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    view = get_finding(session=session, actor=OPERATOR, finding_id=fid)
    history = finding_history(session=session, actor=OPERATOR, finding_id=fid)
    session.rollback()
    assert (view.status, view.remediation_plan) == (
        "in_remediation",
        "Retrain with the new bureau feed.",
    )
    assert [(h.action, h.comment) for h in history][-1] == ("changed", "Work starts Monday.")
    # The detail shows the change in its history, newest first, and fresh fields for the next.
    shown = at.dataframe[-1].value
    assert list(shown["Revision"]) == [2, 1]
    assert "status: open → in remediation" in shown["What changed"][0]
    assert at.selectbox(key=f"finding_{fid}_r2_status").value == "in_remediation"


def _close(at, fid: int, revision: int, password: str, confirm: bool = True):  # type: ignore[no-untyped-def]
    prefix = f"finding_{fid}_r{revision}"
    at.selectbox(key=f"{prefix}_status").select("resolved").run()
    if confirm:
        at.checkbox(key=f"{prefix}_confirmed").check()
    at.text_input(key=f"{prefix}_password").input(password)
    at.text_area(key=f"{prefix}_comment").input("Fixed in the retrained version.")
    at.button(key=f"FormSubmitter:{prefix}-Sign and save").click().run()
    assert not at.exception, at.exception
    return at


def test_a_risk_manager_closes_a_high_finding_signed(
    signed_in, findings: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    fid = findings["high"]
    at = _page(signed_in("risk_manager"), finding=str(fid))
    meaning = f"I confirm finding {fid} on version 1 of credit-logit is resolved."

    _close(at, fid, 1, DEMO_PASSWORD, confirm=False)
    assert [e.value for e in at.error] == [CONFIRM_FIRST]
    at.selectbox(key=f"finding_{fid}_r1_status").select("resolved").run()
    assert meaning in [t.value for t in at.text]
    _close(at, fid, 1, "wrong password")
    assert [e.value for e in at.error] == [WRONG_SIGNING_PASSWORD]
    assert get_finding(session=session, actor=OPERATOR, finding_id=fid).status == "open"
    session.rollback()

    _close(at, fid, 1, DEMO_PASSWORD)
    assert not at.error, [e.value for e in at.error]
    history = finding_history(session=session, actor=OPERATOR, finding_id=fid)
    session.rollback()
    signed = history[-1]
    assert (signed.action, signed.signed, signed.meaning) == ("signed", True, meaning)
    assert len(signed.manifest_sha256) == 64
    shown = at.dataframe[-1].value
    assert shown["Signature SHA-256"][0] == signed.manifest_sha256
    assert shown["Who"][0] == "Rita Risk"
    assert len(history) == 2  # the refused attempts changed nothing


def test_an_sme_may_not_close_a_critical_finding(
    signed_in, findings: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    fid = findings["critical"]
    at = _close(_page(signed_in("sme"), finding=str(fid)), fid, 1, DEMO_PASSWORD)
    assert [e.value for e in at.error] == [
        SIGNER_NEEDED.format(change="Closing", id=fid, severity="critical", who="sam")
    ]
    assert get_finding(session=session, actor=OPERATOR, finding_id=fid).status == "open"
    session.rollback()


def test_hostile_text_is_shown_literally(
    signed_in, demo_models: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    fid = _raise(
        session,
        demo_models["credit-gbm"],
        description=HOSTILE + "\n- second line",
        evidence_links=[HOSTILE, "https://example.org/a_b"],
    )
    update_finding(
        session=session,
        actor=OPERATOR,
        finding_id=fid,
        change=FindingUpdate(remediation_plan="<b>plan</b> *now*"),
    )
    session.commit()
    at = _page(signed_in("auditor"), finding=str(fid))
    shown = [m.value for m in at.markdown]
    assert escape_markdown(HOSTILE) + "  \n" + escape_markdown("- second line") in shown
    assert escape_markdown("<b>plan</b> *now*") in shown
    evidence = next(m for m in shown if m.startswith("- "))
    assert evidence.splitlines() == [
        "- " + escape_markdown(HOSTILE),
        "- [" + escape_markdown("https://example.org/a_b") + "](<https://example.org/a_b>)",
    ]
    assert "<script>" not in "\n".join(shown)
    # Table cells show text as it is, shortened.
    assert at.dataframe[0].value["Description"][0].startswith("**Bold** <script>")


def test_overdue_findings_are_flagged_in_the_detail(signed_in, findings: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    at = _page(signed_in("sme"), finding=str(findings["low"]))
    assert any("overdue" in m.value for m in at.markdown)
    at = _page(at, finding=str(findings["critical"]))
    badges = next(m.value for m in at.markdown if "critical" in m.value)
    assert "overdue" not in badges and "blocks gate approvals" in badges


def test_the_model_page_lists_the_models_findings_and_raises_them(
    signed_in, findings: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("developer")
    at.query_params["model"] = str(
        get_finding(session=session, actor=OPERATOR, finding_id=findings["critical"]).model_id
    )
    session.rollback()
    at.switch_page(MODEL_PAGE).run()
    assert not at.exception
    assert "Findings" in [t.label for t in at.tabs]
    table = next(d.value for d in at.dataframe if "Severity" in d.value.columns)
    assert [int(i) for i in table["Id"]] == [findings["critical"], findings["low"]]
    form = f"model_raise_{at.query_params['model']}"
    at.text_area(key=f"{form}_description").input("Scores drift on weekends.")
    at.button(key=f"FormSubmitter:{form}-Raise finding").click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "Severity" in d.value.columns)
    assert len(table) == 3 and "Scores drift on weekends." in list(table["Description"])

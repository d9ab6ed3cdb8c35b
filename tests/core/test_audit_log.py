"""Reading the audit trail: filters, search, keyset paging, descriptions, CSV, the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from core.cli import main
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.errors import InputProblems, PermissionDenied
from core.services.audit import append_event
from core.services.audit_log import (
    UNKNOWN_MODEL,
    AuditFilter,
    export_events_csv,
    query_events,
)
from core.services.evidence import evaluate_version
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.users import add_user


@pytest.fixture
def trail(session: Session, demo_files: DemoFiles) -> dict[str, int]:
    """Two models, one with evidence computed by a validator."""
    victor = add_user(
        session=session,
        actor=OPERATOR,
        username="victor",
        password="pw-123456789",
        roles=["validator"],
    )
    sam = add_user(
        session=session, actor=OPERATOR, username="sam", password="pw-123456789", roles=["sme"]
    )
    ids = {}
    for name in ("credit-gbm", "credit-logit"):
        ids[name] = register_version(
            session=session,
            actor=OPERATOR,
            name=name,
            artifact=demo_files.model_paths[name],
            eval_data=demo_files.eval_csv,
            train_data=demo_files.train_csv,
            target=TARGET,
            sensitive=SENSITIVE,
        ).version_id
    evaluation = evaluate_version(
        session=session, actor=victor, version_id=ids["credit-gbm"], n_boot=0
    )
    session.commit()
    assert evaluation.fairness is not None
    return {**ids, "fairness": evaluation.fairness.id, "sam": int(sam.id or 0)}


def test_a_model_filter_finds_its_versions_and_evidence_in_words(session: Session, trail) -> None:  # type: ignore[no-untyped-def]
    page = query_events(session=session, actor=OPERATOR, filters=AuditFilter(model="credit-gbm"))
    descriptions = [r.description for r in page.rows]
    assert (
        f"victor computed fairness evidence #{trail['fairness']} for credit-gbm v1 (fail)"
        in descriptions
    )
    assert "operator registered credit-gbm v1" in descriptions
    assert "operator created model credit-gbm" in descriptions
    assert not any("credit-logit" in d for d in descriptions)
    assert [r.sequence for r in page.rows] == sorted((r.sequence for r in page.rows), reverse=True)
    assert all(len(r.hash) == 64 for r in page.rows)


def test_user_action_and_text_filters_narrow(session: Session, trail) -> None:  # type: ignore[no-untyped-def]
    by_victor = query_events(
        session=session, actor=OPERATOR, filters=AuditFilter(user="victor")
    ).rows
    assert {r.action for r in by_victor} == {"evidence_computed"} and len(by_victor) == 2
    one = query_events(
        session=session,
        actor=OPERATOR,
        filters=AuditFilter(actions=["evidence_computed"], text="FAIRNESS"),
    ).rows
    assert [r.details["kind"] for r in one] == ["fairness"]
    # LIKE wildcards in the search are literal characters
    assert query_events(session=session, actor=OPERATOR, filters=AuditFilter(text="%")).rows == []


def test_keyset_pages_cover_every_event_once(session: Session, trail) -> None:  # type: ignore[no-untyped-def]
    for k in range(30):
        append_event(session=session, actor=None, action="note", subject_type="note", subject_id=k)
    session.commit()
    everything = query_events(
        session=session, actor=OPERATOR, filters=AuditFilter(), limit=1000
    ).rows
    seen, before = [], None
    while True:
        page = query_events(
            session=session, actor=OPERATOR, filters=AuditFilter(), before=before, limit=7
        )
        seen += [r.sequence for r in page.rows]
        if page.next_cursor is None:
            break
        before = page.next_cursor
    assert seen == [r.sequence for r in everything]


def test_problems_and_permissions(session: Session, trail) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputProblems) as info:
        query_events(session=session, actor=OPERATOR, filters=AuditFilter(model="nope"))
    assert info.value.problems == [UNKNOWN_MODEL.format(name="nope")]
    from core.tables import User

    sam = session.get(User, trail["sam"])
    with pytest.raises(PermissionDenied):
        query_events(session=session, actor=sam, filters=AuditFilter())


def test_csv_export_and_the_cli_agree(session: Session, trail, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = export_events_csv(
        session=session, actor=OPERATOR, filters=AuditFilter(model="credit-gbm")
    )
    session.commit()
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "sequence,occurred_at_utc,user,action,subject,description,hash,prev_hash"
    result = CliRunner().invoke(main, ["audit", "list", "--model", "credit-gbm", "--json"])
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)["events"]
    assert [str(e["sequence"]) for e in events] == [line.split(",")[0] for line in lines[1:]]
    refused = CliRunner().invoke(main, ["audit", "list", "--model", "nope"])
    assert refused.exit_code != 0
    assert UNKNOWN_MODEL.format(name="nope") in refused.output

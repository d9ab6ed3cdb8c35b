"""`gatehouse findings ...`: the findings register from the command line.

Without a user (GATEHOUSE_USER or --user) a finding is raised by the operator, as monitoring
does. A signing act (closing or accepting the risk of a high or critical finding) re-checks the
signer's password, which comes on standard input or in GATEHOUSE_PASSWORD, as for gates.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from sqlmodel import Session

from core.cli.base import cli_credentials, emit, handles_errors, main
from core.db import session_scope
from core.domain import FindingSeverity, FindingStatus, FindingType
from core.errors import InputProblems
from core.services.finding_views import FindingView, finding_history, get_finding, list_findings
from core.services.findings import FindingUpdate, raise_finding, suggested_meaning, update_finding
from core.services.risk import find_model
from core.services.users import get_user

BAD_DATE = "{text!r} is not a date; write it as 2027-03-31."


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise InputProblems([BAD_DATE.format(text=text)]) from err


def _owner_id(session: Session, username: str | None) -> int | None:
    return get_user(session=session, username=username).id if username else None


def _line(f: dict[str, Any]) -> str:
    flag = " OVERDUE" if f["overdue"] else ""
    return (
        f"#{f['id']:<5} {f['severity']:<8} {f['status']:<14} {f['type']:<16} "
        f"{f['model']} v{f['version']} (owner {f['owner'] or '-'}, due {f['due'] or '-'}){flag}\n"
        f"       {f['description']}"
    )


def _view_text(view: FindingView) -> str:
    return _line(view.to_dict())


@main.group()
def findings() -> None:
    """The findings register: list, raise and update findings."""


@findings.command("list")
@click.option("--model", "model", help="Only this model's findings (its name).")
@click.option("--status", type=click.Choice([s.value for s in FindingStatus]))
@click.option("--severity", type=click.Choice([s.value for s in FindingSeverity]))
@click.option("--type", "kind", type=click.Choice([t.value for t in FindingType]))
@click.option("--open", "open_only", is_flag=True, help="Only open and in-remediation findings.")
@click.option("--overdue", "overdue_only", is_flag=True, help="Only open findings past due.")
@click.option("--user", "user", help="Who reads (default GATEHOUSE_USER, else the operator).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def findings_list(
    model: str | None,
    status: str | None,
    severity: str | None,
    kind: str | None,
    open_only: bool,
    overdue_only: bool,
    user: str | None,
    as_json: bool,
) -> None:
    """Findings across the portfolio or on one model, open and most severe first."""
    with session_scope() as session:
        actor, _ = cli_credentials(session, user)
        model_id = find_model(session, model).id if model else None
        rows = [
            f.to_dict()
            for f in list_findings(
                session=session,
                actor=actor,
                model_id=model_id,
                status=status,
                severity=severity,
                type=kind,
                open_only=open_only,
                overdue_only=overdue_only,
            )
        ]
    emit(rows, as_json, lambda r: "\n".join(_line(f) for f in r) or "No findings.")


@findings.command("raise")
@click.argument("version_id", type=int)
@click.option("--type", "kind", required=True, type=click.Choice([t.value for t in FindingType]))
@click.option("--severity", required=True, type=click.Choice([s.value for s in FindingSeverity]))
@click.option("--description", required=True, help="What was seen, and where.")
@click.option(
    "--evidence", "evidence", multiple=True, help="A batch, record id, explanation or URL."
)
@click.option("--owner", "owner", help="Who owns the remediation (default: the model's owner).")
@click.option("--due", "due", help="Due date, e.g. 2027-03-31 (default: by severity).")
@click.option("--user", "user", help="Who raises it (default GATEHOUSE_USER, else the operator).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def findings_raise(
    version_id: int,
    kind: str,
    severity: str,
    description: str,
    evidence: tuple[str, ...],
    owner: str | None,
    due: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    """Raise a finding on a model version."""
    with session_scope() as session:
        actor, _ = cli_credentials(session, user)
        view = raise_finding(
            session=session,
            actor=actor,
            version_id=version_id,
            type=kind,
            severity=severity,
            description=description,
            evidence_links=evidence,
            owner_id=_owner_id(session, owner),
            due=_date(due),
        )
    emit(view.to_dict(), as_json, lambda _: "Raised " + _view_text(view))


@findings.command("update")
@click.argument("finding_id", type=int)
@click.option("--status", type=click.Choice([s.value for s in FindingStatus]))
@click.option("--severity", type=click.Choice([s.value for s in FindingSeverity]))
@click.option("--owner", "owner", help="The new owner's username.")
@click.option("--due", "due", help="The new due date, e.g. 2027-03-31.")
@click.option("--plan", "plan", help="The remediation plan.")
@click.option("--comment", default="", help="Why; kept in the finding's history.")
@click.option("--meaning", default="", help="For a signing act: the meaning you confirm.")
@click.option("--user", "user", help="Who changes it (default GATEHOUSE_USER, else the operator).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def findings_update(
    finding_id: int,
    status: str | None,
    severity: str | None,
    owner: str | None,
    due: str | None,
    plan: str | None,
    comment: str,
    meaning: str,
    user: str | None,
    as_json: bool,
) -> None:
    """Change a finding's status, severity, owner, due date or plan (signed where it must be)."""
    with session_scope() as session:
        actor, password = cli_credentials(session, user)
        before = get_finding(session=session, actor=actor, finding_id=finding_id)
        view = update_finding(
            session=session,
            actor=actor,
            finding_id=finding_id,
            change=FindingUpdate(
                status=status,
                severity=severity,
                owner_id=_owner_id(session, owner),
                due=_date(due),
                remediation_plan=plan,
                comment=comment,
            ),
            password=password,
            meaning=meaning or suggested_meaning(before, status=status, severity=severity),
        )
    emit(view.to_dict(), as_json, lambda _: "Updated " + _view_text(view))


@findings.command("show")
@click.argument("finding_id", type=int)
@click.option("--user", "user", help="Who reads (default GATEHOUSE_USER, else the operator).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def findings_show(finding_id: int, user: str | None, as_json: bool) -> None:
    """One finding and the history of every change to it."""
    with session_scope() as session:
        actor, _ = cli_credentials(session, user)
        view = get_finding(session=session, actor=actor, finding_id=finding_id)
        history = finding_history(session=session, actor=actor, finding_id=finding_id)
    data = view.to_dict() | {"history": [h.to_dict() for h in history]}
    emit(
        data,
        as_json,
        lambda d: "\n".join(
            [_line(d)]
            + [
                f"  r{h['revision']} {h['changed_at'][:16]} {h['actor']}: {h['action']} "
                f"-> {h['status_after']}" + (f" ({h['meaning']})" if h["signed"] else "")
                for h in d["history"]
            ]
        ),
    )

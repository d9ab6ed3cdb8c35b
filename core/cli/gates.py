"""`gatehouse gate ...` and `gatehouse reviews`: sign-off from the command line.

The signer's password comes on standard input or in GATEHOUSE_PASSWORD; every signing act
re-checks it, as the web page does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlmodel import Session

from core.cli.base import NEEDS_USER, cli_credentials, emit, handles_errors, main, parse_when
from core.db import session_scope
from core.errors import InputProblems
from core.rules.gates import Act
from core.services.gate_records import WaiverRequest
from core.services.gate_status import VersionGates, gate_status
from core.services.gates import sign_gate, waiver_meaning
from core.services.reviews import my_reviews
from core.tables import User


def _signer(session: Session, username: str | None) -> tuple[User, str]:
    actor, password = cli_credentials(session, username)
    if not isinstance(actor, User) or password is None:
        raise InputProblems([NEEDS_USER])
    return actor, password


@main.group()
def gate() -> None:
    """Lifecycle gates: status, and the signing acts."""


def _status_text(data: VersionGates) -> str:
    lines = [f"{data.model} version {data.version} ({data.stage})"]
    for g in data.gates:
        lines.append(
            f"  {g.gate_id:<17} {g.state:<12} R={','.join(g.spec.responsible)} "
            f"A={g.spec.accountable} approvals {g.approvals}/{g.spec.approvers}"
        )
        lines += [f"      {r['status']}: {r['sentence']}" for r in g.requirements]
        lines += [f"      changed: {c}" for c in g.changes]
    return "\n".join(lines)


@gate.command("status")
@click.argument("version_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def gate_status_command(version_id: int, as_json: bool) -> None:
    """Each gate of a version: state, RACI, required evidence, signatures."""
    with session_scope() as session:
        data = gate_status(session=session, version_id=version_id)
    emit(data.to_dict(), as_json, lambda _: _status_text(data))


def _act(
    act: Act,
    version_id: int,
    gate_id: str,
    meaning: str,
    comment: str,
    user: str | None,
    as_json: bool,
    **extra: object,
) -> None:
    with session_scope() as session:
        actor, password = _signer(session, user)
        row = sign_gate(
            session=session,
            actor=actor,
            version_id=version_id,
            gate_id=gate_id,
            act=act,
            password=password,
            meaning=meaning,
            comment=comment,
            **extra,  # type: ignore[arg-type]
        )
        data = {
            "act": row.act,
            "gate": gate_id,
            "version_id": version_id,
            "state": row.state_after,
            "signer": actor.username,
            "printed_name": row.printed_name,
            "role": row.role,
            "meaning": row.meaning,
            "signed_at": row.signed_at.isoformat(),
            "manifest_sha256": row.manifest_sha256,
        }
    emit(
        data,
        as_json,
        lambda d: (
            f"{d['printed_name']} ({d['role']}) signed {d['act']} on {gate_id}: gate now {d['state']}; manifest {d['manifest_sha256']}."
        ),
    )


_COMMON = [
    click.argument("version_id", type=int),
    click.argument("gate_id"),
    click.option("--meaning", required=True, help="The meaning you confirm, e.g. 'I approve ...'."),
    click.option("--comment", default="", help="Your comment or reasons."),
    click.option("--user", "user", help="Who signs (default GATEHOUSE_USER)."),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
]


F = TypeVar("F", bound=Callable[..., Any])


def _with_common(func: F) -> F:
    for decorator in reversed(_COMMON):
        func = decorator(func)
    return func


@gate.command("submit")
@_with_common
@handles_errors
def gate_submit(
    version_id: int, gate_id: str, meaning: str, comment: str, user: str | None, as_json: bool
) -> None:
    """Submit a gate for approval (a Responsible person)."""
    _act(Act.submit, version_id, gate_id, meaning, comment, user, as_json)


@gate.command("approve")
@_with_common
@handles_errors
def gate_approve(
    version_id: int, gate_id: str, meaning: str, comment: str, user: str | None, as_json: bool
) -> None:
    """Approve a submitted gate (the Accountable role)."""
    _act(Act.approve, version_id, gate_id, meaning, comment, user, as_json)


@gate.command("reject")
@_with_common
@handles_errors
def gate_reject(
    version_id: int, gate_id: str, meaning: str, comment: str, user: str | None, as_json: bool
) -> None:
    """Reject a submitted gate with the reasons (the Accountable role)."""
    _act(Act.reject, version_id, gate_id, meaning, comment, user, as_json)


@gate.command("opinion")
@_with_common
@click.option("--opinion", type=click.Choice(["concur", "concern", "object"]), required=True)
@handles_errors
def gate_opinion(
    version_id: int,
    gate_id: str,
    meaning: str,
    comment: str,
    user: str | None,
    as_json: bool,
    opinion: str,
) -> None:
    """Record a Consulted person's opinion: concur, concern or object."""
    _act(Act.opinion, version_id, gate_id, meaning, comment, user, as_json, opinion=opinion)


@gate.command("waive")
@click.argument("version_id", type=int)
@click.argument("gate_id")
@click.option(
    "--check", "check", required=True, help="The failed check, e.g. selection_rate_ratio."
)
@click.option("--justification", required=True)
@click.option("--controls", required=True, help="The compensating controls.")
@click.option("--expires", required=True, help="Expiry date, e.g. 2027-03-31.")
@click.option("--meaning", default="", help="The meaning you confirm (default: stated for you).")
@click.option("--user", "user", help="Who signs (default GATEHOUSE_USER).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def gate_waive(
    version_id: int,
    gate_id: str,
    check: str,
    justification: str,
    controls: str,
    expires: str,
    meaning: str,
    user: str | None,
    as_json: bool,
) -> None:
    """Waive a failed check until a date (a risk manager's signed act)."""
    request = WaiverRequest(
        check=check, justification=justification, controls=controls, expires_at=parse_when(expires)
    )
    if not meaning:
        with session_scope() as session:
            meaning = waiver_meaning(session, version_id, gate_id, check, request.expires_at.date())
    text = meaning
    _act(Act.waive, version_id, gate_id, text, justification, user, as_json, waiver=request)


@main.command("reviews")
@click.option("--user", "user", help="Whose reviews (default GATEHOUSE_USER).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def reviews(user: str | None, as_json: bool) -> None:
    """What waits for me: gates where one of my roles has something to do, oldest first."""
    with session_scope() as session:
        actor, _ = _signer(session, user)
        items = [i.to_dict() for i in my_reviews(session=session, user=actor)]
    emit(
        items,
        as_json,
        lambda rows: (
            "\n".join(
                f"{r['model']} v{r['version']} {r['gate']}: {r['todo']} as {r['role']}"
                + (" (overdue)" if r["overdue"] else "")
                for r in rows
            )
            or "Nothing waits for you."
        ),
    )

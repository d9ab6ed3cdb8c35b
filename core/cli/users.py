"""`gatehouse user ...`: accounts."""

from __future__ import annotations

import click

from core.cli.base import (
    cli_actor,
    emit,
    handles_errors,
    main,
    read_password,
)
from core.db import check_schema, session_scope
from core.services.permissions import ROLES


@main.group()
def user() -> None:
    """User accounts."""


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--display-name", default=None)
@click.option("--email", default=None, help="E-mail that single sign-on maps to this user.")
@click.option("--sso-only", is_flag=True, help="No password: sign-in only through SSO.")
@click.option("--user", "acting", default=None, help="Act as this admin (else the operator).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def user_add(
    username: str,
    roles: tuple[str, ...],
    display_name: str | None,
    email: str | None,
    sso_only: bool,
    acting: str | None,
    as_json: bool,
) -> None:
    """Add a user; the password is read from standard input."""
    from core.services.users import add_user

    check_schema()
    password = None if sso_only else read_password()
    with session_scope() as session:
        actor = cli_actor(session, acting)
        created = add_user(
            session=session,
            actor=actor,
            username=username,
            password=password,
            roles=roles,
            display_name=display_name,
            email=email,
        )
    emit(
        {"id": created.id, "username": created.username, "roles": sorted(roles)},
        as_json,
        lambda d: f"Added user {d['username']} with roles {', '.join(d['roles'])}.",
    )


@user.command("list")
@click.option("--user", "acting", default=None, help="Act as this user (else the operator).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def user_list(acting: str | None, as_json: bool) -> None:
    """List every user, active or not."""
    from core.services.users import list_users

    check_schema()
    with session_scope() as session:
        users = list_users(session=session, actor=cli_actor(session, acting))
    emit(
        [u.to_dict() for u in users],
        as_json,
        lambda rows: "\n".join(
            f"{r['username']:<16} {', '.join(r['roles']):<32} "
            f"{'active' if r['is_active'] else 'deactivated'}{'  locked' if r['locked'] else ''}"
            for r in rows
        ),
    )

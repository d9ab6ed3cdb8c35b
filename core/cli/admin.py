"""`gatehouse admin ...`: what only an admin (or the operator) decides, such as trusted types."""

from __future__ import annotations

import click

from core.cli.base import cli_actor, emit, handles_errors, main
from core.db import check_schema, session_scope


@main.group()
def admin() -> None:
    """Administration: the allowlist of extra skops types."""


@admin.group("trust-type")
def trust_type() -> None:
    """Extra skops types every model file may name, after an admin's review."""


@trust_type.command("add")
@click.argument("type_name")
@click.option("--reason", required=True, help="Why building this type from a file is safe.")
@click.option("--user", "acting", default=None, help="Act as this admin (else the operator).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def trust_type_add(type_name: str, reason: str, acting: str | None, as_json: bool) -> None:
    """Add a reviewed type (the full dotted name skops reports) to the allowlist."""
    from core.services.trusted_types import add_trusted_type

    check_schema()
    with session_scope() as session:
        added = add_trusted_type(
            session=session, actor=cli_actor(session, acting), type_name=type_name, reason=reason
        )
    emit(added.to_dict(), as_json, lambda d: f"Trusted {d['type_name']} for every model file.")


@trust_type.command("remove")
@click.argument("type_name")
@click.option("--user", "acting", default=None, help="Act as this admin (else the operator).")
@handles_errors
def trust_type_remove(type_name: str, acting: str | None) -> None:
    """Take a type off the allowlist; model files that need it stop loading."""
    from core.services.trusted_types import remove_trusted_type

    check_schema()
    with session_scope() as session:
        remove_trusted_type(session=session, actor=cli_actor(session, acting), type_name=type_name)
    click.echo(f"Removed {type_name.strip()} from the allowlist.")


@trust_type.command("list")
@click.option("--user", "acting", default=None, help="Act as this admin (else the operator).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def trust_type_list(acting: str | None, as_json: bool) -> None:
    """The allowlist, with who added each type and why."""
    from core.services.trusted_types import list_trusted_types

    check_schema()
    with session_scope() as session:
        rows = list_trusted_types(session=session, actor=cli_actor(session, acting))
    emit(
        [r.to_dict() for r in rows],
        as_json,
        lambda items: (
            "\n".join(
                f"{r['type_name']}  (by {r['added_by'] or 'the operator'}, {r['added_at'][:10]}): "
                f"{r['reason']}"
                for r in items
            )
            or "No extra types are trusted; model files may name the built-in list only."
        ),
    )

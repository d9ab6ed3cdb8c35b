"""`gatehouse policy`: check, publish, show and compare governance policy packs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from core.cli.base import emit, handles_errors, main, required_actor
from core.db import check_schema, session_scope

PACK_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@main.group()
def policy() -> None:
    """Governance policy packs: validate, load (publish), show, diff, adopt."""


@policy.command("validate")
@click.argument("file", type=PACK_FILE)
@handles_errors
def validate(file: Path) -> None:
    """Check a pack file; every problem is listed with its file, line and key."""
    from core.services.policy import validate_pack

    pack = validate_pack(file.read_text(encoding="utf-8"), filename=file.name)
    tiers = ", ".join(pack.data["tiers"])
    click.echo(
        f"{file.name} is a valid policy pack: {pack.name!r}, tiers {tiers}, "
        f"{len(pack.method.questions)} questions (method {pack.method.version})."
    )


@policy.command("load")
@click.argument("file", type=PACK_FILE)
@click.option("--note", default="", help="Why this version is published.")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def load(file: Path, note: str, acting: str | None, as_json: bool) -> None:
    """Publish a pack as the next policy version (admins); nothing changes if it has problems."""
    from core.services.policy import publish_pack

    check_schema()
    with session_scope() as session:
        row, created = publish_pack(
            session=session,
            actor=required_actor(session, acting),
            text=file.read_text(encoding="utf-8"),
            source_name=file.name,
            note=note,
        )
        data = {"version": row.version, "name": row.name, "sha256": row.sha256, "created": created}
    emit(
        data,
        as_json,
        lambda d: (
            f"Published policy version {d['version']} ({d['name']})."
            if d["created"]
            else f"{file.name} is identical to policy version {d['version']}; nothing published."
        ),
    )


@policy.command("show")
@click.option("--version", "number", type=int, default=None, help="Version (default: newest).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def show(number: int | None, as_json: bool) -> None:
    """Print a policy version: tiers, gates with their RACI, evidence and thresholds."""
    from core.services.policy import get_policy_version, policy_summary

    check_schema()
    with session_scope() as session:
        data = policy_summary(get_policy_version(session, number))
    emit(data, as_json, _show_text)


def _show_text(data: dict[str, Any]) -> str:
    lines = [f"Policy version {data['version']}: {data['name']} (method {data['method_version']})"]
    from core.rules.risk import TIERS

    for name in TIERS:
        tier = data["pack"]["tiers"][name]
        lines.append(f"  {name} (review every {tier['review_every_days']} days)")
        for gate in tier["gates"]:
            lines.append(
                f"    {gate['id']:<17} R {','.join(gate['responsible'])}  A {gate['accountable']}"
                f"  C {','.join(gate['consulted']) or '-'}  I {','.join(gate['informed']) or '-'}"
            )
    return "\n".join(lines)


@policy.command("diff")
@click.argument("old", type=int)
@click.argument("new", type=int)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def diff(old: int, new: int, as_json: bool) -> None:
    """Show what changed from policy version OLD to NEW."""
    from core.services.policy import diff_versions

    check_schema()
    with session_scope() as session:
        rows = diff_versions(session, old, new)
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(f"{r['key']}: {r['old']!r} -> {r['new']!r}" for r in rs)
            or f"Policy versions {old} and {new} are the same."
        ),
    )


@policy.command("adopt")
@click.argument("number", type=int)
@click.argument("models", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Move every model.")
@click.option("--reason", default="", help="Why the models move (recorded).")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def adopt(
    number: int,
    models: tuple[str, ...],
    every: bool,
    reason: str,
    acting: str | None,
    as_json: bool,
) -> None:
    """Move models to policy version NUMBER (admins and risk managers; audited)."""
    from core.services.policy_adoption import adopt_policy

    check_schema()
    with session_scope() as session:
        moved = adopt_policy(
            session=session,
            actor=required_actor(session, acting),
            version=number,
            model_names=None if every else list(models),
            reason=reason,
        )
    emit(
        {"version": number, "models": moved},
        as_json,
        lambda d: f"{len(d['models'])} model(s) now under policy version {number}.",
    )

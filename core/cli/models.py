"""`gatehouse model ...`: the inventory from a pipeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from core.cli.base import (
    emit,
    handles_errors,
    main,
    parse_when,
    required_actor,
)
from core.db import check_schema, session_scope
from core.errors import InputProblems

TRUSTED_FLAG_GONE = (
    "--trusted is no longer accepted: the person registering a model does not decide which "
    "types are safe to load. Types beyond the built-in list come from the allowlist an admin "
    "maintains (see `gatehouse admin trust-type list`)."
)


@main.group()
def model() -> None:
    """The model inventory."""


@model.command("register")
@click.option("--name", required=True, help="Inventory name of the model (created if new).")
@click.option("--artifact", required=True, type=click.Path(path_type=Path), help="A .skops file.")
@click.option("--eval", "eval_data", required=True, type=click.Path(path_type=Path))
@click.option("--target", required=True, help="Label column in the data.")
@click.option("--train", "train_data", type=click.Path(path_type=Path), default=None)
@click.option("--sensitive", multiple=True, help="Sensitive column for fairness (repeatable).")
@click.option("--positive-label", default=None)
@click.option("--task", type=click.Choice(["classification", "regression"]), default=None)
@click.option("--card", type=click.Path(path_type=Path), default=None, help="Model card YAML.")
@click.option("--trusted", multiple=True, hidden=True)  # gone: refused with a sentence
@click.option("--provenance", default="", help="Where the data came from.")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_register(
    name: str,
    artifact: Path,
    eval_data: Path,
    target: str,
    train_data: Path | None,
    sensitive: tuple[str, ...],
    positive_label: str | None,
    task: str | None,
    card: Path | None,
    trusted: tuple[str, ...],
    provenance: str,
    acting: str | None,
    as_json: bool,
) -> None:
    """Register a model version from a pipeline (idempotent for identical artifact bytes)."""
    from core.services.inventory import register_version

    if trusted:
        raise InputProblems([TRUSTED_FLAG_GONE])
    check_schema()
    with session_scope() as session:
        result = register_version(
            session=session,
            actor=required_actor(session, acting),
            name=name,
            artifact=artifact,
            eval_data=eval_data,
            target=target,
            train_data=train_data,
            sensitive=sensitive,
            positive_label=positive_label,
            task=task,
            card=card,
            provenance=provenance,
        )
    data = result.to_dict()
    emit(
        {k: data[k] for k in ("model_id", "version_id", "version", "artifact_sha256")}
        | {"created": result.created},
        as_json,
        lambda d: (
            f"{'Registered' if d['created'] else 'Already registered:'} {name} version {d['version']} "
            f"(version id {d['version_id']}, artifact {d['artifact_sha256'][:12]})."
        ),
    )


@model.command("list")
@click.option("--search", default="", help="Free text over name, purpose and tags.")
@click.option("--stage", "stages", multiple=True)
@click.option("--tier", "tiers", multiple=True)
@click.option("--as-of", "as_of", default=None, help="ISO date or time (UTC): the inventory then.")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_list(
    search: str,
    stages: tuple[str, ...],
    tiers: tuple[str, ...],
    as_of: str | None,
    acting: str | None,
    as_json: bool,
) -> None:
    """List the inventory (every page), optionally as it stood at a date."""
    from core.services.inventory import InventoryFilter, query_inventory

    check_schema()
    when = parse_when(as_of) if as_of else None
    rows: list[dict[str, Any]] = []
    with session_scope() as session:
        actor = required_actor(session, acting)
        page = 1
        while True:
            result = query_inventory(
                session=session,
                actor=actor,
                page=page,
                page_size=500,
                as_of=when,
                filters=InventoryFilter(text=search, stages=stages, tiers=tiers),
            )
            rows.extend(r.to_dict() for r in result.rows)
            if page >= result.pages:
                break
            page += 1
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['name']:<28} v{r['version'] or '-':<4} {r['stage']:<14} {r['risk_tier']:<13} {r['owner']}"
                for r in rs
            )
            or "The inventory is empty."
        ),
    )


@model.command("show")
@click.argument("ref")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_show(ref: str, acting: str | None, as_json: bool) -> None:
    """Show a model (name or id) or a version (name:3, or v<version id>)."""
    from core.services.inventory import describe

    check_schema()
    with session_scope() as session:
        required_actor(session, acting)
        data = describe(session=session, ref=ref)
    emit(data, as_json, lambda d: json.dumps(d, indent=2, default=str))


@model.command("promote")
@click.argument("version_id", type=int)
@click.option(
    "--stage",
    required=True,
    type=click.Choice(["development", "qa", "preproduction", "production", "retired"]),
)
@click.option("--reason", default="")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_promote(
    version_id: int, stage: str, reason: str, acting: str | None, as_json: bool
) -> None:
    """Move a version to another stage."""
    from core.services.inventory import promote_version

    check_schema()
    with session_scope() as session:
        promote_version(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            stage=stage,
            reason=reason,
        )
    emit(
        {"version_id": version_id, "stage": stage},
        as_json,
        lambda d: f"Version id {d['version_id']} is now in {d['stage']}.",
    )


@model.command("export")
@click.option("--excel", is_flag=True, help="Excel-compatible CSV (BOM, CRLF).")
@click.option("--as-of", "as_of", default=None)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
@click.option("--user", "acting", default=None)
@handles_errors
def model_export(excel: bool, as_of: str | None, output: Path | None, acting: str | None) -> None:
    """Export the inventory as CSV for model risk reporting."""
    from core.services.inventory import export_inventory_csv

    check_schema()
    with session_scope() as session:
        data = export_inventory_csv(
            session=session,
            actor=required_actor(session, acting),
            as_of=parse_when(as_of) if as_of else None,
            excel=excel,
        )
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)

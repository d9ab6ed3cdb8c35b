"""`gatehouse audit ...`: reading the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from core.cli.base import cli_actor, emit, handles_errors, main, parse_when
from core.db import check_schema, session_scope


@main.group()
def audit() -> None:
    """The audit trail."""


def _since(text: str | None) -> datetime | None:
    # A date means from the start of that day (UTC); parse_when reads dates as their end.
    if text is None:
        return None
    when = parse_when(text)
    return when - timedelta(days=1, microseconds=-1) if len(text) == 10 else when.astimezone(UTC)


@audit.command("list")
@click.option("--model", default=None, help="Events about this model, its versions and evidence.")
@click.option("--version-id", type=int, default=None, help="Events about one version.")
@click.option("--user", "username", default=None, help="Events by this user.")
@click.option("--action", "actions", multiple=True, help="Only these actions (repeatable).")
@click.option("--since", default=None, help="From this date or time (UTC).")
@click.option("--until", default=None, help="Up to this date (end of day) or time (UTC).")
@click.option("--search", default="", help="Words that must all appear in the event.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--before", type=int, default=None, help="Only events older than this sequence.")
@click.option("--as", "acting", default=None, help="Read as this user (else the operator).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def audit_list(
    model: str | None,
    version_id: int | None,
    username: str | None,
    actions: tuple[str, ...],
    since: str | None,
    until: str | None,
    search: str,
    limit: int,
    before: int | None,
    acting: str | None,
    as_json: bool,
) -> None:
    """Events, newest first, with their sequence, hash and a readable description."""
    from core.services.audit_log import AuditFilter, query_events

    check_schema()
    filters = AuditFilter(
        model=model,
        version_id=version_id,
        user=username,
        actions=actions,
        since=_since(since),
        until=parse_when(until) if until else None,
        text=search,
    )
    with session_scope() as session:
        page = query_events(
            session=session,
            actor=cli_actor(session, acting),
            filters=filters,
            before=before,
            limit=limit,
        )
    emit(
        {"events": [r.to_dict() for r in page.rows], "next_before": page.next_cursor},
        as_json,
        lambda d: (
            "\n".join(
                f"#{e['sequence']}  {e['occurred_at'][:19]}  {e['description']}"
                for e in d["events"]
            )
            or "No event matches."
        ),
    )

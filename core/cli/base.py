"""What every `gatehouse` command shares: the root group, errors as sentences, the acting user."""

from __future__ import annotations

import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import click
from sqlmodel import Session

from core.db import session_scope
from core.errors import GatehouseError, InputProblems
from core.logging_setup import configure_logging
from core.services.auth import authenticate
from core.services.permissions import OPERATOR, Actor
from core.tables import User

F = TypeVar("F", bound=Callable[..., Any])

MISSING_STDIN = (
    'No password on standard input; pipe it in, e.g. `echo "$PW" | gatehouse user add ...`.'
)


def _fail(problems: list[str], code: int = 1) -> None:
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(code)


def handles_errors(func: F) -> F:
    """Turn domain errors into their sentences on stderr and a non-zero exit (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GatehouseError as err:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            _fail(err.problems)
        except (OSError, ValueError) as err:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            _fail([f"{err}"])

    return wrapper  # type: ignore[return-value]


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """Print JSON on stdout for machines, or a readable text for people."""
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text(data))


def read_password(prompt: str = "Password") -> str:
    """The password from standard input (first line), or a hidden prompt on a terminal."""
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        if getpass.getpass(f"{prompt} again: ") != first:
            raise InputProblems(["The two passwords differ; type the same password twice."])
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise InputProblems([MISSING_STDIN])
    return password


def cli_actor(session: Session, username: str | None) -> Actor:
    """The acting user: --user or GATEHOUSE_USER with GATEHOUSE_PASSWORD (or stdin).

    Without a user, OPERATOR: the operator at the command line, who holds the database itself;
    only set-up and user administration accept that. See ``cli_credentials``.
    """
    return cli_credentials(session, username)[0]


def cli_credentials(session: Session, username: str | None) -> tuple[Actor, str | None]:
    """The acting user and the password they gave (signing acts check it again), or OPERATOR
    and no password when no user is named.

    The sign-in runs in a short transaction of its own, so the user's row is not held locked
    while the command works; call this before the command's first query (SQLite has one writer
    at a time).
    """
    username = username or os.environ.get("GATEHOUSE_USER")
    if not username:
        return OPERATOR, None
    password = os.environ.get("GATEHOUSE_PASSWORD") or read_password(f"Password for {username}")
    with session_scope() as own:
        user_id = authenticate(session=own, username=username, password=password).id
    user = session.get(User, user_id)
    assert user is not None
    return user, password


# Each command and the module that defines it. A module is imported only when its command runs
# (or help lists it): the evidence and report modules pull in scikit-learn, SHAP and WeasyPrint,
# seconds a worker, a sign-in or `gatehouse serve` should not pay for commands it never runs.
COMMAND_MODULES: dict[str, str] = {
    "admin": "core.cli.admin",
    "audit": "core.cli.trail",  # the group is in core.cli.audit; trail adds its commands
    "demo": "core.cli.setup",
    "evaluate": "core.cli.evidence",
    "evidence": "core.cli.evidence",
    "explain": "core.cli.evidence",
    "findings": "core.cli.findings",
    "gate": "core.cli.gates",
    "init": "core.cli.setup",
    "model": "core.cli.models",
    "monitor": "core.cli.monitor",
    "policy": "core.cli.policy",
    "report": "core.cli.report",
    "reviews": "core.cli.gates",
    "risk": "core.cli.risk",
    "serve": "core.cli.setup",
    "user": "core.cli.users",
    "worker": "core.cli.setup",
}


class LazyCommands(click.Group):
    """The root group: looks a command up in ``COMMAND_MODULES`` and imports its module, which
    registers the command on this group, the first time it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])
        return self.commands.get(cmd_name)


@click.group(cls=LazyCommands)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Gatehouse: model governance and review."""
    try:
        configure_logging()
    except ValueError as err:
        _fail([str(err)])


NEEDS_USER = (
    "This command acts as a user: set GATEHOUSE_USER and GATEHOUSE_PASSWORD, or give --user and "
    "the password on standard input."
)


def required_actor(session: Session, username: str | None) -> User:
    """The signed-in user for commands that must be attributed to a person."""
    actor = cli_actor(session, username)
    if not isinstance(actor, User):
        raise InputProblems([NEEDS_USER])
    return actor


def parse_when(text: str) -> datetime:
    """An ISO date (end of that day, UTC) or time; naive times are UTC."""
    try:
        if len(text) == 10:
            return datetime.fromisoformat(text).replace(tzinfo=UTC) + timedelta(
                days=1, microseconds=-1
            )
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise InputProblems(
            [f"{text!r} is not a date; write it as 2026-03-03 or 2026-03-03T14:00."]
        ) from err
    return when if when.tzinfo else when.replace(tzinfo=UTC)

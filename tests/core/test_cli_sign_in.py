"""The command line signs people in like the app: one refusal for every reason, each counted."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import Session, select

from core.cli import main
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import User

PASSWORD = "a long enough password"
REFUSED = (
    "error: Sign-in refused: the username or password is wrong, or the account is locked or "
    "deactivated; check both, and after 5 failed tries wait 15 minutes or ask an admin to "
    "unlock it.\n"
)


def test_a_wrong_password_on_the_command_line_is_refused_and_counted(
    session: Session, db_url: str
) -> None:
    add_user(session=session, actor=OPERATOR, username="ada", password=PASSWORD, roles=["admin"])
    session.commit()
    runner = CliRunner()
    for user, password in (("ada", "wrong"), ("nobody", "wrong")):
        env = {"GATEHOUSE_USER": user, "GATEHOUSE_PASSWORD": password}
        result = runner.invoke(main, ["user", "list", "--json"], env=env)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", REFUSED)
    session.expire_all()
    assert session.exec(select(User.failed_logins).where(User.username == "ada")).one() == 1
    session.rollback()
    ok = runner.invoke(
        main,
        ["user", "list", "--json"],
        env={"GATEHOUSE_USER": "ada", "GATEHOUSE_PASSWORD": PASSWORD},
    )
    assert ok.exit_code == 0, ok.stderr
    assert session.exec(select(User.failed_logins).where(User.username == "ada")).one() == 0

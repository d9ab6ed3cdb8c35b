"""`gatehouse demo` never puts accounts with the published password into a real database."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import Session, select

from core.cli import main
from core.db import safe_url
from core.demo.seed import DEMO_USERS, check_database_for_demo, demo_email, foreign_users
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import User

PASSWORD = "a long enough password"


def _real_users(session: Session, *names: str) -> None:
    for name in names:
        add_user(session=session, actor=OPERATOR, username=name, password=PASSWORD, roles=["sme"])
    session.commit()


def test_demo_refuses_a_database_with_users_it_did_not_create(
    session: Session, db_url: str
) -> None:
    _real_users(session, "zoe", "yann")
    runner = CliRunner()
    for args, refusal in [
        (
            ["demo"],
            f"error: The database at {safe_url(db_url)} holds 2 users the demo did not create "
            "(yann, zoe); the demo would add accounts with the published password "
            "'gatehouse-demo', an admin among them, so point GATEHOUSE_DATABASE_URL at an empty "
            "database, or pass --force to seed it anyway.\n",
        ),
        (
            ["demo", "--reset"],
            f"error: The database at {safe_url(db_url)} holds 2 users the demo did not create "
            "(yann, zoe); --reset would drop them with everything else, so pass --force as well "
            "to reset it anyway.\n",
        ),
    ]:
        result = runner.invoke(main, args)
        assert (result.exit_code, result.stderr) == (1, refusal)
    session.expire_all()
    assert sorted(session.exec(select(User.username)).all()) == ["yann", "zoe"]  # nothing added


def test_forcing_says_what_it_does_and_demo_users_are_not_foreign(
    session: Session, db_url: str
) -> None:
    assert check_database_for_demo(force=False, reset=False) == []  # empty: nothing to say
    for username, name, role in DEMO_USERS[:2]:
        add_user(session=session, actor=OPERATOR, username=username, password=PASSWORD,
                 roles=[role], display_name=name, email=demo_email(username))  # fmt: skip
    # Same name as a demo user, but not made by the demo (no demo e-mail): foreign.
    add_user(session=session, actor=OPERATOR, username="victor", password=PASSWORD, roles=["sme"])
    session.commit()
    assert foreign_users() == ["victor"]
    assert check_database_for_demo(force=True, reset=False) == [
        "Seeding the demo into a database with 1 user it did not create (victor): its accounts "
        "sign in with the published password 'gatehouse-demo'; deactivate them before real use."
    ]
    assert check_database_for_demo(force=True, reset=True) == [
        "Dropped a database with 1 user the demo did not create (victor) to rebuild the demo; "
        "its accounts sign in with the published password 'gatehouse-demo'."
    ]

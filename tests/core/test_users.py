"""User administration guards, the explicit operator, and the demo accounts' published password."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.errors import InputProblems, PermissionDenied
from core.services.auth import hash_password
from core.services.permissions import (
    ADMIN_ROLES,
    OPERATOR,
    REGISTER_ROLES,
    ROLES,
    USER_LIST_ROLES,
    Role,
    require_role,
    roles_of,
)
from core.services.users import (
    DEMO_PASSWORD,
    RoleChange,
    add_user,
    deactivate_user,
    demo_accounts_with_published_password,
    reactivate_user,
    set_roles,
)
from core.tables import AuditEvent, User

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def _add(session: Session, name: str, *roles: str, **kw: str) -> User:
    user = add_user(
        session=session, actor=OPERATOR, username=name, password=PASSWORD, roles=roles, **kw
    )
    session.commit()
    return user


def test_the_last_active_admin_keeps_the_role_and_stays_active(session: Session) -> None:
    ada = _add(session, "ada", "admin")
    _add(session, "vera", "validator")
    for actor in (ada, OPERATOR):
        with pytest.raises(InputProblems) as demote:
            set_roles(session=session, actor=actor, username="ada", roles=["auditor"])
        session.rollback()
        assert demote.value.problems == [
            "ada is the last active admin; give another user the admin role before removing it "
            "from ada."
        ]
    with pytest.raises(InputProblems) as deactivate:
        deactivate_user(session=session, actor=OPERATOR, username="ada")
    session.rollback()
    assert deactivate.value.problems == [
        "ada is the last active admin; give another user the admin role before deactivating ada."
    ]
    with pytest.raises(InputProblems) as own:
        deactivate_user(session=session, actor=ada, username="ada")
    session.rollback()
    assert own.value.problems == ["You cannot deactivate your own account; ask another admin."]
    assert roles_of(session, ada) == {"admin"} and ada.is_active
    # With a second admin, either may go; a deactivated admin does not count.
    set_roles(session=session, actor=ada, username="vera", roles=["admin", "validator"])
    session.commit()
    deactivate_user(session=session, actor=ada, username="vera")
    session.commit()
    with pytest.raises(InputProblems, match="ada is the last active admin"):
        set_roles(session=session, actor=ada, username="ada", roles=["sme"])
    session.rollback()
    reactivate_user(session=session, actor=ada, username="vera")
    session.commit()
    change = set_roles(session=session, actor=ada, username="ada", roles=["sme"])
    session.commit()
    assert change == RoleChange(username="ada", old=("admin",), new=("sme",))
    assert roles_of(session, ada) == {"sme"}
    actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-4:] == [
        "roles_changed",
        "user_deactivated",
        "user_reactivated",
        "roles_changed",
    ]


def test_the_operator_is_explicit_and_a_missing_actor_is_refused(session: Session) -> None:
    sam = _add(session, "sam", "sme")
    require_role(session, OPERATOR, "add users", *ADMIN_ROLES)  # passes every check
    with pytest.raises(PermissionDenied) as missing:
        require_role(session, None, "add users", *ADMIN_ROLES)  # type: ignore[arg-type]
    assert missing.value.problems == [
        "No acting user was given to add users; pass the signed-in user, or OPERATOR for the "
        "operator at the command line."
    ]
    with pytest.raises(PermissionDenied, match="No acting user was given to add users"):
        add_user(session=session, actor=None, username="x1", password=PASSWORD, roles=["sme"])  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied) as wrong:
        require_role(session, sam, "register models", *REGISTER_ROLES)
    assert wrong.value.problems == [
        "sam may not register models: it needs the role admin or developer or model_owner, and "
        "sam has sme."
    ]
    add_user(session=session, actor=OPERATOR, username="x2", password=PASSWORD, roles=["sme"])
    session.commit()
    event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None and (event.actor, event.actor_id) == ("operator", None)


def test_roles_are_the_enum_and_sets_hold_only_roles() -> None:
    assert tuple(r.value for r in Role) == ROLES
    assert set(USER_LIST_ROLES) == {"admin", "auditor"}


def _retyped_role_sets(source: str) -> list[int]:
    """Lines where role names are written out as a set: a tuple, list or set of role names only,
    or role names passed to ``has(...)`` / ``require_role(...)``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        items: list[ast.expr] = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = list(node.elts)
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in {"has", "require_role"}:
            items = [a for a in node.args if isinstance(a, ast.Constant) and a.value in ROLES]
        if items and all(isinstance(i, ast.Constant) and i.value in ROLES for i in items):
            lines.append(node.lineno)
    return lines


def test_pages_and_navigation_read_role_sets_from_permissions() -> None:
    # Role sets are written once, in core.services.permissions: pages and navigation import them,
    # so the menu and the rule in core cannot drift apart.
    assert _retyped_role_sets('user.has("admin")\nNAV = ("a", ("admin", "auditor"))') == [1, 2]
    retyped = {
        str(path.relative_to(ROOT)): lines
        for path in [*(ROOT / "app").glob("*.py"), *(ROOT / "pages").glob("*.py")]
        if (lines := _retyped_role_sets(path.read_text()))
    }
    assert retyped == {}


def test_demo_accounts_with_the_published_password_are_named(session: Session) -> None:
    def demo(name: str, password: str = DEMO_PASSWORD, **kw: str) -> None:
        add_user(session=session, actor=OPERATOR, username=name, password=password,
                 roles=["sme"], email=f"{name}@demo.gatehouse.example", **kw)  # fmt: skip

    assert demo_accounts_with_published_password(session=session) == []
    demo("sam")
    demo("ada")
    demo("rita", password="changed since the demo")
    add_user(session=session, actor=OPERATOR, username="real", password=DEMO_PASSWORD,
             roles=["sme"], email="real@example.org")  # fmt: skip
    session.commit()
    assert demo_accounts_with_published_password(session=session) == ["ada", "sam"]
    deactivate_user(session=session, actor=OPERATOR, username="ada")
    sam = session.exec(select(User).where(User.username == "sam")).one()
    sam.password_hash = hash_password("a password of sam's own")
    session.add(sam)
    session.commit()
    assert demo_accounts_with_published_password(session=session) == []

"""AppTest helpers: the real entrypoint on a fresh database with the demo users."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.seed import DEMO_PASSWORD, DEMO_VOCABULARY
from core.services.inventory import promote_version, register_version
from core.services.permissions import OPERATOR
from core.services.users import get_user
from tests.demo_people import add_demo_users
from tests.signoff import sign_off
from tests.snapshots import built_once

ENTRYPOINT = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture
def demo_users(session: Session) -> dict[str, str]:
    """The demo's users; maps each role to the first demo user holding it."""

    return built_once(session, "demo_users", lambda: add_demo_users(session))


def sign_in(username: str, password: str = DEMO_PASSWORD) -> AppTest:
    """A fresh app, signed in through the real sign-in form."""
    at = AppTest.from_file(ENTRYPOINT, default_timeout=30)
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


@pytest.fixture
def signed_in(demo_users: dict[str, str]) -> Callable[[str], AppTest]:
    """Sign in as the demo user holding a role: ``signed_in("admin")``."""
    return lambda role: sign_in(demo_users[role])


def texts(at: AppTest) -> str:
    """All markdown, titles and captions on the page, for assertions on what a person reads."""
    parts = (
        [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.caption]
    )
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def demo_models(
    session: Session, demo_users: dict[str, str], demo_files: DemoFiles
) -> dict[str, int]:
    """The demo models registered through the real path, credit-gbm signed off and in
    production; maps name to version id."""

    def build() -> dict[str, int]:
        developer = get_user(session=session, username=demo_users["developer"])
        out = {}
        for name in demo_files.model_names:
            result = register_version(
                session=session,
                actor=developer,
                name=name,
                artifact=demo_files.model_paths[name],
                eval_data=demo_files.eval_csv,
                train_data=demo_files.train_csv,
                target=TARGET,
                sensitive=SENSITIVE,
                card={
                    "purpose": demo_files.purposes[name],
                    "business_unit": "Lending",
                    "vocabulary": DEMO_VOCABULARY,
                },
            )
            out[name] = result.version_id
        sign_off(session, out["credit-gbm"], "production")
        promote_version(
            session=session, actor=OPERATOR, version_id=out["credit-gbm"], stage="production"
        )
        session.commit()  # as the page or command that registers would
        return out

    return built_once(session, "demo_models", build)

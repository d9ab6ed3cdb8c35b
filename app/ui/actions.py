"""Running one user action safely, and showing every problem it met."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from sqlmodel import Session

from core.db import session_scope
from core.errors import GatehouseError

__all__ = [
    "attempt",
    "read_outside_the_run",
    "show_problems",
]

T = TypeVar("T")


def show_problems(error: GatehouseError) -> None:
    """One st.error per problem, so every sentence is seen."""
    for problem in error.problems:
        st.error(problem, icon=":material/error:")


def attempt(action: Callable[[Session], T]) -> T | None:
    """Run one user action in one transaction; on a domain error roll back, show it, return None."""
    try:
        with session_scope() as session:
            return action(session)
    except GatehouseError as err:
        show_problems(err)
        return None


def read_outside_the_run(action: Callable[[Session], T]) -> T:
    """Run a read in its own transaction from code that runs outside the script run (a
    download button's deferred data callable), where errors cannot be shown on the page."""
    with session_scope() as session:
        return action(session)

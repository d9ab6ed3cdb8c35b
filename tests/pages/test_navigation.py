"""Every page in the navigation has tests."""

from __future__ import annotations

from pathlib import Path

from app.navigation import NAVIGATION

HERE = Path(__file__).parent


def test_every_page_in_the_navigation_has_a_test_module() -> None:
    files = [file for entries in NAVIGATION.values() for file, *_ in entries] + ["login.py"]
    missing = [f for f in files if not (HERE / f"test_{Path(f).stem}.py").exists()]
    assert missing == [], f"pages without tests/pages/test_<page>.py: {missing}"

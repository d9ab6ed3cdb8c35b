"""The real server on a free loopback port, seeded with the demo, and Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One test worker runs every browser test, so a parallel run starts one demo server.
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path) -> dict[str, str]:
    env = {**os.environ, "GATEHOUSE_DATA_DIR": str(data), "GATEHOUSE_APP_WORKER": "1"}
    env.pop("GATEHOUSE_DATABASE_URL", None)
    return env


GATEHOUSE = [sys.executable, "-m", "core.cli"]


@pytest.fixture(scope="session")
def seeded_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the demo seeded, once per run: each server starts on a copy of it
    (SQLite database, stored files and signing key), so a second server costs a copy, not a
    second seeding."""
    data = tmp_path_factory.mktemp("demo-seeded")
    subprocess.run([*GATEHOUSE, "demo"], env=_env(data), check=True, capture_output=True)
    return data


@contextlib.contextmanager
def demo_server(
    seeded: Path, data: Path, prepare: Callable[[], None] | None = None
) -> Iterator[str]:
    """Copy the seeded demo into ``data``, run ``prepare`` (services in this process, pointed at
    the same database), then serve it; yields the base URL and prints the server log at the end."""
    shutil.copytree(seeded, data, dirs_exist_ok=True)
    env = _env(data)
    if prepare is not None:
        prepare()
    port = _free_port()
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [*GATEHOUSE, "serve", "--port", str(port), "--address", "127.0.0.1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/gatehouse/health", timeout=1) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("the server did not start:\n" + (data / "server.log").read_text())
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        print("---- server log ----\n" + (data / "server.log").read_text())


@pytest.fixture(scope="session")
def server(seeded_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of `gatehouse serve` on a fresh SQLite database with the demo seeded."""
    with demo_server(seeded_demo, tmp_path_factory.mktemp("server-data")) as url:
        yield url


@pytest.fixture
def browser_page(server: str) -> Iterator[object]:
    """A fresh Chromium context and page."""
    from playwright.sync_api import expect, sync_playwright

    # A busy CI machine may take longer than Playwright's 5 s default to rerun a page.
    expect.set_options(timeout=20_000)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def sign_in(page: Any, username: str) -> None:
    """Fill and submit the sign-in form."""
    from core.demo.seed import DEMO_PASSWORD

    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def session_cookie(page: Any) -> dict[str, Any]:
    """The session cookie, once the page has swapped its one-time ticket for it (in the
    background, after the signed-in page shows: a page load before then starts signed out)."""
    for _ in range(100):
        cookies = {c["name"]: c for c in page.context.cookies()}
        if "gatehouse_session" in cookies:
            return cookies["gatehouse_session"]
        page.wait_for_timeout(100)
    raise AssertionError("the session cookie never arrived")

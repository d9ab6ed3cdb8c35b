"""`gatehouse serve` says the port is taken before it claims to start, and names the fix."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from core.cli import main
from core.cli.setup import PORT_TAKEN

pytestmark = pytest.mark.sqlite_only


def test_a_taken_port_is_refused_before_starting(db_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--address", "127.0.0.1"])
    assert result.exit_code != 0
    assert PORT_TAKEN.format(port=port, address="127.0.0.1") in result.output
    assert "GATEHOUSE_PORT" in result.output and "--port" in result.output
    assert "is starting" not in result.output

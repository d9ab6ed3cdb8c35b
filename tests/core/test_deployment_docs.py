"""The README's systemd units start commands that exist, with options the CLI accepts."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import click
import pytest

from core.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _units() -> dict[str, configparser.ConfigParser]:
    text = README.read_text()
    units = {}
    for block in re.findall(r"```ini\n(.*?)```", text, flags=re.S):
        name = re.search(r"^# /etc/systemd/system/(\S+)$", block, flags=re.M)
        assert name, "each unit names its file in its first line"
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(block)
        units[name.group(1)] = parser
    return units


def _accepts(command_line: str) -> click.Context:
    """Parse the command line with the real CLI (without running it)."""
    program, name, *args = shlex.split(command_line)
    assert program.endswith("/gatehouse")
    command = main.get_command(click.Context(main), name)
    assert command is not None, f"no command {name!r}"
    return command.make_context(name, args)


def test_the_readme_has_a_unit_for_the_app_and_the_worker() -> None:
    assert set(_units()) == {"gatehouse-app.service", "gatehouse-worker.service"}


@pytest.mark.parametrize("unit", ["gatehouse-app.service", "gatehouse-worker.service"])
def test_each_unit_runs_a_real_command_and_stops_it_in_time(unit: str) -> None:
    service = _units()[unit]["Service"]
    context = _accepts(service["ExecStart"])
    for before in [service[k] for k in ("ExecStartPre",) if k in service]:
        _accepts(before)
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
    grace = context.params.get("grace") or 0
    assert float(service["TimeoutStopSec"]) > grace + 10  # time to release the job, then exit
    assert context.info_name == {"gatehouse-app.service": "serve"}.get(unit, "worker")

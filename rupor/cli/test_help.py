"""`rupor COMMAND --help` names each flag's environment variable, as the README promises."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from rupor.cli.main import cli


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "rupor" for p, _ in COMMANDS])
def test_help_names_every_flags_environment_variable(path, command):
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="rupor", terminal_width=400)
    assert result.exit_code == 0, result.output
    for param in command.params:
        if not isinstance(param, click.Option) or not param.expose_value:
            continue
        assert isinstance(param.envvar, str) and param.envvar.startswith("RUPOR_"), (path, param.name)
        line = next(line for line in result.output.splitlines() if line.strip().startswith(param.opts[0]))
        assert f"env var: {param.envvar}" in line, (path, param.name, line)


def test_the_named_environment_variable_is_the_one_read():
    # an option that had none of its own: click reads RUPOR_<COMMAND>_<FLAG>, and --help says so
    result = CliRunner().invoke(
        cli, ["emulate", "no-such-network"], env={"RUPOR_EMULATE_NO_RATE_LIMITS": "maybe"}
    )
    assert "RUPOR_EMULATE_NO_RATE_LIMITS" in result.output  # click names the variable it could not read

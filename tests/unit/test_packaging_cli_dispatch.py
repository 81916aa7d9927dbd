"""`meshgate` dispatches to one module per subcommand and imports only the chosen one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from meshgate import cli


def test_every_subcommand_target_provides_add_arguments_and_run() -> None:
    names = [c.name for c in cli.COMMANDS]
    assert {"operator", "cluster", "demo"} <= set(names)
    assert len(names) == len(set(names))
    for command in cli.COMMANDS:
        target = command.load()
        assert callable(target.add_arguments), command.name
        assert callable(target.run), command.name


def test_help_lists_subcommands_without_importing_their_modules() -> None:
    code = (
        "import sys\n"
        "from meshgate import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded:', 'meshgate.demo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for command in cli.COMMANDS:
        assert command.name in out
    assert "loaded: False" in out


def test_cluster_without_testbins_says_how_to_get_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MESHGATE_TESTBINS", raising=False)
    assert cli.main(["cluster", "up", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "MESHGATE_TESTBINS is not set" in err
    assert "make up" in err

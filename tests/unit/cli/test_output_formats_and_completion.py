"""Every command's `-o table|json|yaml`, and completion generated from the parsers."""

from __future__ import annotations

import json

import yaml

from meshgate.cli import COMMANDS
from meshgate.cli.completion import bash_script
from meshgate.cli.output import Column, render, table


def test_table_pads_columns_and_shows_dashes_for_empty_cells() -> None:
    text = table(
        [{"a": "x", "b": None}, {"a": "longer", "b": 3}], [Column("A", "a"), Column("B", "b")]
    )
    assert text.splitlines() == ["A        B", "x        -", "longer   3"]


def test_json_and_yaml_render_the_data_not_the_table() -> None:
    data = {"rows": [{"a": 1}]}
    assert json.loads(render(data, "json", "T")) == data
    assert yaml.safe_load(render(data, "yaml", "T")) == data
    assert render(data, "table", "T") == "T"


def test_bash_completion_offers_every_command_and_the_output_formats() -> None:
    script = bash_script("meshgate")
    for command in COMMANDS:
        assert command.name in script
    assert "'analyze -o') COMPREPLY=($(compgen -W 'table json yaml'" in script
    assert "listeners routes clusters endpoints secrets" in script

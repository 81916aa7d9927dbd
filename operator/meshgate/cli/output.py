"""`-o table|json|yaml` for every command: one list of rows, three renderings.

A command builds plain rows (dicts of JSON-able values) and a table layout; this module turns them
into text. Pure: it never prints, reads a cluster or looks at the terminal.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

FORMATS = ("table", "json", "yaml")

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    """A table column: its header and the row key it shows."""

    header: str
    key: str


def add_output_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table for people (default), json or yaml for scripts",
    )


def render(data: Any, fmt: str, table: str) -> str:
    """`data` as JSON or YAML, or `table` (already laid out by the command) for `table`."""
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return table


def cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list | tuple):
        return ",".join(cell(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[Row], columns: Sequence[Column], *, empty: str = "") -> str:
    """kubectl's look: upper-case headers, columns padded by three spaces, no borders."""
    if not rows:
        return (empty + "\n") if empty else ""
    grid = [[c.header for c in columns]] + [[cell(r.get(c.key)) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(columns))]
    lines = [
        "   ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in grid
    ]
    return "\n".join(lines) + "\n"

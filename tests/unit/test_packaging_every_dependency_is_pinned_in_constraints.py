"""Pinned tools in the gate: every package the gate installs from pyproject.toml (the proxy's,
the `operator` and `dev` extras; `bench` is not in the gate) has an exact `==` pin in
constraints.txt, and `make venv` installs with it, so a new upstream release cannot turn
`make test` red with no change here. Bumping is `make lock`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    """PEP 503 normalised name of a requirement string such as `kopf[full-auth]>=1.37`."""
    raw = re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", raw).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not an exact pin"
            pins[_name(name)] = version
    return pins


def test_every_package_pyproject_names_has_an_exact_pin() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    named = list(project["dependencies"])
    for extra in ("operator", "dev"):  # what `make venv` installs
        named += project["optional-dependencies"][extra]
    pins = _pins()
    unpinned = sorted({_name(r) for r in named} - {"meshgate"} - pins.keys())
    assert unpinned == [], f"add exact pins to constraints.txt (make lock): {unpinned}"


def test_make_venv_installs_with_the_constraints() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "-c constraints.txt -e '.[operator,dev]'" in makefile
    assert re.search(r"^lock:", makefile, re.MULTILINE)

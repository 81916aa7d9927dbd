"""The proxy image installs the base dependencies only: no pydantic, kopf, kubernetes, jinja2 or
PyYAML.

Reads what the Dockerfile's `pip install --prefix=/install` lines install (the prefix the runtime
stage copies; build tools such as the proxy's mypyc stay in the build stage) and resolves `.` /
`.[extras]` through pyproject.toml, so adding an extra (or a package) to an image fails here.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0].lower() for s in specs}


def installed_by(dockerfile: Path) -> set[str]:
    """Distributions the `pip install`s into /install bring into the image (project expanded)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    text = dockerfile.read_text().replace("\\\n", " ")
    names: set[str] = set()
    for line in text.splitlines():
        if not line.strip().startswith("RUN") or "pip install" not in line:
            continue
        if "--prefix=/install" not in line.split("pip install", 1)[1].split("&&", 1)[0]:
            continue  # into the build stage only: not copied into the image
        words = iter(shlex.split(line.split("pip install", 1)[1].split("&&", 1)[0]))
        for word in words:
            if word in ("-c", "--constraint"):
                next(words)  # the constraints file: pins versions, installs nothing
                continue
            if word.startswith("-"):
                continue
            match = re.fullmatch(r"\.(?:\[(.*)\])?", word)
            if match:
                names |= _requirement_names(project["dependencies"])
                for extra in filter(None, (match.group(1) or "").split(",")):
                    names |= _requirement_names(project["optional-dependencies"][extra.strip()])
            else:
                names |= _requirement_names([word])
    return names


def test_proxy_image_installs_only_the_base_dependencies() -> None:
    installed = installed_by(REPO / "proxy-image" / "Dockerfile")
    # cryptography and PyJWT are base dependencies: the proxy verifies JWT signatures.
    # msgspec decodes the config; pydantic (the operator's CRD models) stays out of the image.
    assert installed == {"uvloop", "httptools", "msgspec", "cryptography", "pyjwt", "h2"}
    assert not installed & {"pydantic", "kopf", "kubernetes", "jinja2", "pyyaml"}


def test_proxy_image_compiles_its_hot_modules_with_the_pinned_mypyc() -> None:
    text = (REPO / "proxy-image" / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -c constraints.txt mypy setuptools" in text
    assert "build_compiled.py --in-place /install/lib/python3.11/site-packages" in text


def _image_installs(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text().replace("\\\n", " ")
    return [
        line.split("pip install", 1)[1]
        for line in text.splitlines()
        if line.strip().startswith("RUN") and "pip install" in line
    ]


def test_every_image_installs_at_the_pinned_versions() -> None:
    # An image built without the constraints resolves the newest releases of the day: not
    # what the test suite ran against.
    for dockerfile in (REPO / "proxy-image" / "Dockerfile", REPO / "operator.Dockerfile"):
        installs = _image_installs(dockerfile)
        assert installs, dockerfile
        for args in installs:
            assert "-c constraints.txt" in args, (dockerfile.name, args)
        assert "COPY pyproject.toml README.md constraints.txt ./" in dockerfile.read_text()


def test_operator_image_installs_the_operator_extra() -> None:
    installed = installed_by(REPO / "operator.Dockerfile")
    assert {"kopf", "kubernetes"} <= installed
    assert not installed & {"pytest", "mypy", "ruff"}

"""The layout keeps `operator` the standard library and makes both import packages importable."""

from __future__ import annotations

import importlib
import sysconfig
from pathlib import Path


def test_import_operator_is_the_standard_library_module() -> None:
    # operator/ in the checkout holds the `meshgate` package; an operator/__init__.py would turn
    # it into a package that shadows the standard library module.
    import operator

    assert operator.itemgetter(1)([10, 20]) == 20
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(operator.__file__).resolve().is_relative_to(stdlib)


def test_meshgate_and_meshproxy_import_from_the_checkout() -> None:
    repo = Path(__file__).resolve().parents[2]
    meshgate = importlib.import_module("meshgate")
    meshproxy = importlib.import_module("meshproxy")
    assert Path(meshgate.__file__ or "").resolve().is_relative_to(repo / "operator")
    assert Path(meshproxy.__file__ or "").resolve().is_relative_to(repo / "proxy-image")

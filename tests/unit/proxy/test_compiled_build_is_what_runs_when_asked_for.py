"""The proxy's tests run on the mypyc build (`make proxy-compiled`) with PYTHONPATH pointing at
it and MESHPROXY_EXPECT_COMPILED=1. This fails such a run if the pure-Python modules were
imported instead, so it can never silently test the source."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# Loaded by path: putting proxy-image/ on sys.path would shadow the build under test.
_spec = importlib.util.spec_from_file_location(
    "build_compiled", ROOT / "proxy-image/build_compiled.py"
)
assert _spec is not None
assert _spec.loader is not None
_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_build)
COMPILED: tuple[str, ...] = _build.COMPILED

EXPECT = os.environ.get("MESHPROXY_EXPECT_COMPILED") == "1"


@pytest.mark.skipif(not EXPECT, reason="the pure-Python pass: nothing compiled to check")
@pytest.mark.parametrize("path", COMPILED)
def test_every_listed_module_is_the_compiled_extension(path: str) -> None:
    module = importlib.import_module("meshproxy." + path.removesuffix(".py").replace("/", "."))
    assert module.__file__ is not None
    assert module.__file__.endswith(".so"), f"{module.__name__} came from {module.__file__}"


@pytest.mark.skipif(EXPECT, reason="the compiled pass")
def test_every_listed_module_exists_in_the_source() -> None:
    package = ROOT / "proxy-image" / "meshproxy"
    assert [p for p in COMPILED if not (package / p).is_file()] == []

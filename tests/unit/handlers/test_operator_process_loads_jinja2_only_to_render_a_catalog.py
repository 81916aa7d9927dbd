"""The operator's modules (the compiler with them) do not load Jinja2, ~2.5 MiB resident: only
rendering a catalog page, which a Gateway opts into, does."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
sys.modules["kubernetes"] = None
import meshgate.handlers.operator, meshgate.push.startup
print("before", "jinja2" in sys.modules)
from meshgate.catalog import build, render_page
page = render_page(build("shop", "edge", {}, {}))
print("after", "jinja2" in sys.modules, "<html" in page.lower())
"""


def test_jinja2_is_loaded_by_the_first_catalog_page_only() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split("\n")[:2] == ["before False", "after True True"]

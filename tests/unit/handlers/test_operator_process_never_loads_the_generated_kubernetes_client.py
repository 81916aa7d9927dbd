"""The operator's process never loads the generated `kubernetes` package, although it is installed
here (the tests use it) and kopf imports it whenever it can: the entry keeps it out before kopf is
imported. Observed on the real entry points, whose process is asked at exit which modules it
holds; the operator stops early (no credentials) right after importing kopf."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENTRIES = {
    # what the chart's image runs (`meshgate operator`) and what the tests and benches run
    "meshgate operator": (
        "import sys; from meshgate.cli import main; sys.exit(main(['operator']))"
    ),
    "python -m meshgate.handlers.run": (
        "import runpy, sys; sys.argv = ['run']; "
        "runpy.run_module('meshgate.handlers.run', run_name='__main__', alter_sys=True)"
    ),
}

REPORT = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print('MODULES ' + json.dumps("
    "sorted(n for n, m in sys.modules.items() if m is not None)), file=sys.stderr))\n"
)


def _loaded(entry: str, tmp_path: Path) -> tuple[int, set[str]]:
    env = {
        **os.environ,
        "KUBECONFIG": str(tmp_path / "absent.kubeconfig"),
        "MESHGATE_OPERATOR_NAMESPACE": "mesh-ops",
    }
    env.pop("KUBERNETES_SERVICE_HOST", None)
    done = subprocess.run(
        [sys.executable, "-c", REPORT + ENTRIES[entry]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return done.returncode, set(json.loads(line.removeprefix("MODULES ")))


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_operator_imports_kopf_but_not_the_generated_client(entry: str, tmp_path: Path) -> None:
    assert importlib.util.find_spec("kubernetes") is not None  # installed: kopf would find it
    code, modules = _loaded(entry, tmp_path)
    assert code == 1  # stopped at "no Kubernetes credentials", after the imports
    assert {"kopf", "meshgate.handlers.operator"} <= modules
    assert not {m for m in modules if m.split(".")[0] == "kubernetes"}

"""Helpers of the chart tests: where the repository is and how a helm command is run."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# The chart requires >= 1.29 (native sidecars); `helm template` assumes 1.20 unless told, so it is
# told the version of the control plane these tests run (hack/install-test-bins.sh).
KUBE_VERSION = "v1.34.4"


def run(argv: list[str]) -> str:
    """Run a helm command; `helm template` renders for KUBE_VERSION unless the test says."""
    if argv[1:2] == ["template"] and "--kube-version" not in argv:
        argv = [*argv, "--kube-version", KUBE_VERSION]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout

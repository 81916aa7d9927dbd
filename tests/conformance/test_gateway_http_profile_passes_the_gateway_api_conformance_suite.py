"""The Gateway API's own conformance suite (v1.5.1, GATEWAY-HTTP profile) judges meshgate.

The suite (built by `make conformance-bins` from `conformance/`, nothing of it copied here)
runs against the local control plane, with the node agent playing kubelet and kube-proxy and
meshgate installed by its chart. It writes its ConformanceReport to `conformance/reports/`;
the features it claims are `conformance/supported-features.txt`. The test fails unless every
profile's core and extended results are `success`.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conformance_kit import MODULE, REPO, ConformanceBins, failures, summary
from harness.session import NodeAgent

# The committed report; `make test` writes its run's report under .local/ instead.
REPORT = Path(
    os.environ.get("MESHGATE_CONFORMANCE_REPORT")
    or MODULE / "reports" / "v1.5.1-meshgate-gateway-http.yaml"
)
LOG = REPO / ".local" / "conformance" / "suite.log"
SUMMARY = REPO / ".local" / "conformance" / "summary.txt"
# The suite's own per-step timeouts bound each test; this bounds the whole run.
SUITE_TIMEOUT = 50 * 60


@pytest.mark.timeout(SUITE_TIMEOUT + 120)
def test_gateway_http_profile_passes_the_gateway_api_conformance_suite(
    conformance_bins: ConformanceBins,
    conformance_agent: NodeAgent,
    gateway_api_release: object,
    kubeconfig: str,
) -> None:
    env = dict(
        os.environ,
        KUBECONFIG=kubeconfig,
        # Set it to try more features than the committed list claims.
        MESHGATE_CONFORMANCE_FEATURES=os.environ.get("MESHGATE_CONFORMANCE_FEATURES")
        or str(MODULE / "supported-features.txt"),
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.unlink(missing_ok=True)
    started = time.monotonic()
    with open(LOG, "wb") as log:
        proc = subprocess.run(
            [
                str(conformance_bins.suite),
                "-test.v",
                f"-test.timeout={SUITE_TIMEOUT}s",
                "-test.run=^TestGatewayHTTPConformance$",
                f"-report-output={REPORT}",
                # The control plane is thrown away after the run: no time spent on deletions.
                "-cleanup-base-resources=false",
            ],
            cwd=MODULE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=SUITE_TIMEOUT + 60,
            check=False,
        )
    took = time.monotonic() - started
    lines = [f"suite exit code {proc.returncode}, ran {took:.0f}s; full log {LOG}"]
    report = yaml.safe_load(REPORT.read_text()) if REPORT.is_file() else None
    if report is None:
        lines.append(f"no report written to {REPORT}: see the log")
    else:
        lines.extend(summary(report))
        lines.append(f"report: {REPORT}")
    SUMMARY.write_text("\n".join(lines) + "\n")
    assert report is not None, "\n".join(lines) + "\n" + _tail(LOG)
    assert not failures(report), "\n".join(lines)
    assert proc.returncode == 0, "\n".join(lines) + "\n" + _tail(LOG)


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

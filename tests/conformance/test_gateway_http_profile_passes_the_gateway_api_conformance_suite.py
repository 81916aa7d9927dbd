"""The Gateway API's own conformance suite (v1.5.1, GATEWAY-HTTP profile) judges meshgate.

The suite (built by `make conformance-bins` from `conformance/`, nothing of it copied here)
runs against the local control plane, with the node agent playing kubelet and kube-proxy and
meshgate installed by its chart. It writes its ConformanceReport to `conformance/reports/`;
the features it claims are `conformance/supported-features.txt`. The test fails unless every
profile's core and extended results are `success`.
"""

from __future__ import annotations

import os

import pytest
from conformance_kit import MODULE, ConformanceBins
from harness.session import NodeAgent
from suite_run import SUITE_TIMEOUT, report_path, run_profile, tail

REPORT = report_path("v1.5.1-meshgate-gateway-http.yaml", "MESHGATE_CONFORMANCE_REPORT")


@pytest.mark.timeout(SUITE_TIMEOUT + 120)
def test_gateway_http_profile_passes_the_gateway_api_conformance_suite(
    conformance_bins: ConformanceBins,
    conformance_agent: NodeAgent,
    gateway_api_release: object,
    kubeconfig: str,
) -> None:
    # Set MESHGATE_CONFORMANCE_FEATURES to try more features than the committed list claims.
    features = os.environ.get("MESHGATE_CONFORMANCE_FEATURES") or str(
        MODULE / "supported-features.txt"
    )
    lines, problems, code, log = run_profile(
        conformance_bins,
        kubeconfig,
        "TestGatewayHTTPConformance",
        REPORT,
        {"MESHGATE_CONFORMANCE_FEATURES": features},
    )
    assert not problems, "\n".join(lines) + "\n" + tail(log)
    assert code == 0, "\n".join(lines) + "\n" + tail(log)

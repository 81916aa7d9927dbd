"""The Gateway API's own conformance suite (v1.5.1, GATEWAY-HTTP profile) judges meshgate.

The suite (built by `make conformance-bins` from `conformance/`, nothing of it copied here)
runs against the local control plane, with the node agent playing kubelet and kube-proxy and
meshgate installed by its chart. It writes its ConformanceReport to `conformance/reports/`;
the features it claims are `conformance/supported-features.txt`. The test fails unless every
profile's core and extended results are `success`.
"""

from __future__ import annotations

import pytest
from conformance_kit import ConformanceBins
from harness.session import NodeAgent
from suite_run import SUITE_TIMEOUT, assert_gateway_profile_passes, report_path

REPORT = report_path("v1.5.1-meshgate-gateway-http.yaml", "MESHGATE_CONFORMANCE_REPORT")


@pytest.mark.timeout(SUITE_TIMEOUT + 120)
def test_gateway_http_profile_passes_the_gateway_api_conformance_suite(
    conformance_bins: ConformanceBins,
    conformance_agent: NodeAgent,
    gateway_api_release: object,
    kubeconfig: str,
) -> None:
    assert_gateway_profile_passes(
        conformance_bins, kubeconfig, "TestGatewayHTTPConformance", REPORT
    )

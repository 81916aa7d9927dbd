"""The Gateway API's own conformance suite (v1.5.1, GATEWAY-TLS profile) judges meshgate's
TLSRoutes on TLS listeners in Passthrough mode.

Same cluster, node agent and chart install as the other profiles; the suite's TLS backends are
its echo-basic image serving TLS with the suite's certificates, which the node agent runs as
the program built from the suite's module. The run takes the GATEWAY-TLS part of the claimed
features (`conformance/gateway_tls_test.go`). Fails unless core and extended are `success`.
"""

from __future__ import annotations

import pytest
from conformance_kit import ConformanceBins
from harness.session import NodeAgent
from suite_run import SUITE_TIMEOUT, assert_gateway_profile_passes, report_path

REPORT = report_path("v1.5.1-meshgate-gateway-tls.yaml", "MESHGATE_CONFORMANCE_TLS_REPORT")


@pytest.mark.timeout(SUITE_TIMEOUT + 120)
def test_gateway_tls_profile_passes_the_gateway_api_conformance_suite(
    conformance_bins: ConformanceBins,
    conformance_agent: NodeAgent,
    gateway_api_release: object,
    kubeconfig: str,
) -> None:
    assert_gateway_profile_passes(conformance_bins, kubeconfig, "TestGatewayTLSConformance", REPORT)

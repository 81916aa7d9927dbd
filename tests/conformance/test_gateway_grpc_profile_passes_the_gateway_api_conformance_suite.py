"""The Gateway API's own conformance suite (v1.5.1, GATEWAY-GRPC profile) judges meshgate's
GRPCRoutes.

Same cluster, node agent and chart install as the GATEWAY-HTTP profile; the suite's gRPC
backends (`grpc-infra-backend-*`) are its echo-basic image with `GRPC_ECHO_SERVER=1`, which the
node agent runs as the program built from the suite's module, serving the suite's GrpcEcho
service on `:3000` in the Pod's own network namespace. The claimed features are
`conformance/supported-features.txt`, of which the run takes the GATEWAY-GRPC part
(`conformance/gateway_grpc_test.go`). Fails unless core and extended are `success`.
"""

from __future__ import annotations

import pytest
from conformance_kit import ConformanceBins
from harness.session import NodeAgent
from suite_run import SUITE_TIMEOUT, assert_gateway_profile_passes, report_path

REPORT = report_path("v1.5.1-meshgate-gateway-grpc.yaml", "MESHGATE_CONFORMANCE_GRPC_REPORT")


@pytest.mark.timeout(SUITE_TIMEOUT + 120)
def test_gateway_grpc_profile_passes_the_gateway_api_conformance_suite(
    conformance_bins: ConformanceBins,
    conformance_agent: NodeAgent,
    gateway_api_release: object,
    kubeconfig: str,
) -> None:
    assert_gateway_profile_passes(
        conformance_bins, kubeconfig, "TestGatewayGRPCConformance", REPORT
    )

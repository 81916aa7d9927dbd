"""The Gateway API's own conformance suite (v1.5.1, MESH-HTTP profile) judges meshgate's mesh:
HTTPRoutes whose parentRef is a Service, served by the injected sidecars.

It runs after the GATEWAY-HTTP profile, in the same cluster (its base manifests stay). The mesh
namespaces are labelled for injection as the suite creates them (`conformance/mesh_http_test.go`);
the suite's echo-advanced backend and client run as meshgate's emulation of that image
(`conformance/echoadvanced`), exec'd through the node agent's kubelet API. The features claimed
are `conformance/mesh-supported-features.txt`; MeshHTTPRoute307Redirect is skipped by name (the
suite at v1.5.1 applies the 303 manifest in it). Fails unless core and extended are `success`.
"""

from __future__ import annotations

import os

import pytest
from conformance_kit import MODULE, ConformanceBins
from harness.session import NodeAgent
from suite_run import SUITE_TIMEOUT, report_path, run_profile, tail

REPORT = report_path("v1.5.1-meshgate-mesh-http.yaml", "MESHGATE_CONFORMANCE_MESH_REPORT")


@pytest.mark.timeout(SUITE_TIMEOUT + 120)
def test_mesh_http_profile_passes_the_gateway_api_conformance_suite(
    conformance_bins: ConformanceBins,
    conformance_agent: NodeAgent,
    gateway_api_release: object,
    kubeconfig: str,
) -> None:
    features = os.environ.get("MESHGATE_CONFORMANCE_MESH_FEATURES") or str(
        MODULE / "mesh-supported-features.txt"
    )
    lines, problems, code, log = run_profile(
        conformance_bins,
        kubeconfig,
        "TestMeshHTTPConformance",
        REPORT,
        {"MESHGATE_CONFORMANCE_MESH_FEATURES": features},
    )
    assert not problems, "\n".join(lines) + "\n" + tail(log)
    assert code == 0, "\n".join(lines) + "\n" + tail(log)

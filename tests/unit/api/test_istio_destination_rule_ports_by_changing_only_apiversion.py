"""The Istio seed example is Istio's own DestinationRule YAML with only apiVersion changed."""

from __future__ import annotations

import yaml
from api_examples import EXAMPLES

from meshgate.api.v1alpha1 import DestinationRule

ISTIO_YAML = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: productpage
spec:
  host: productpage
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
    connectionPool:
      tcp:
        maxConnections: 100
      http:
        http1MaxPendingRequests: 10
        http2MaxRequests: 1000
        maxRequestsPerConnection: 100
        idleTimeout: 1m
    outlierDetection:
      consecutive5xxErrors: 3
      interval: 10s
      baseEjectionTime: 30s
    tls:
      mode: ISTIO_MUTUAL
"""


def test_seed_differs_from_istio_only_in_api_version() -> None:
    seed = yaml.safe_load((EXAMPLES / "istio-seed" / "destination-rule.yaml").read_text())
    istio = yaml.safe_load(ISTIO_YAML)
    assert seed["apiVersion"] == "meshgate.io/v1alpha1"
    assert {**seed, "apiVersion": istio["apiVersion"]} == istio


def test_istio_yaml_with_meshgate_api_version_reads_as_mesh_mutual_with_every_setting() -> None:
    doc = yaml.safe_load(ISTIO_YAML.replace("networking.istio.io/v1", "meshgate.io/v1alpha1"))
    policy = DestinationRule.model_validate(doc).spec.traffic_policy
    assert policy is not None
    assert policy.tls is not None
    assert policy.tls.mode == "MESH_MUTUAL"
    assert policy.load_balancer is not None
    assert policy.load_balancer.simple == "ROUND_ROBIN"
    assert policy.outlier_detection is not None
    assert policy.outlier_detection.consecutive_5xx_errors == 3
    assert policy.outlier_detection.interval == "10s"
    assert policy.outlier_detection.base_ejection_time == "30s"
    pool = policy.connection_pool
    assert pool is not None
    assert pool.tcp is not None
    assert pool.http is not None
    assert pool.tcp.max_connections == 100
    assert (
        pool.http.http1_max_pending_requests,
        pool.http.http2_max_requests,
        pool.http.max_requests_per_connection,
        pool.http.idle_timeout,
    ) == (10, 1000, 100, "1m")

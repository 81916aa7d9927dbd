"""What meshgate accepts it serves: every value the proxies would ignore is refused by the real
API server at admission, with a message naming the field, what is not served and what to do.

docs/operator.md ("Refused at admission") lists the same values. Each refusal is paired with the
nearest value that is served, so a rule that refused too much would fail here too.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient
from meshgate_apply import REPO, Rejected, apply

NOT_SERVED = "is not served"


def _destination_rule(traffic_policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "DestinationRule",
        "metadata": {"name": "reviews"},
        "spec": {"host": "reviews", "trafficPolicy": traffic_policy},
    }


def _subset_port_pool(http: dict[str, Any]) -> dict[str, Any]:
    port_level = [{"port": {"number": 9080}, "connectionPool": {"http": http}}]
    subset = {
        "name": "v1",
        "labels": {"version": "v1"},
        "trafficPolicy": {"portLevelSettings": port_level},
    }
    return {**_destination_rule({}), "spec": {"host": "reviews", "subsets": [subset]}}


def _route(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "Route",
        "metadata": {"name": "orders"},
        "spec": {"parentRefs": [{"name": "edge"}], "rules": [rule]},
    }


def _jwt(clock_skew: str) -> dict[str, Any]:
    provider = {
        "name": "auth0",
        "issuer": "https://issuer.example/",
        "jwks": {"uri": "https://issuer.example/.well-known/jwks.json"},
        "clockSkew": clock_skew,
    }
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "EdgeAuthentication",
        "metadata": {"name": "tokens"},
        "spec": {
            "targetRefs": [{"kind": "Gateway", "name": "edge"}],
            "jwt": {"providers": [provider]},
        },
    }


def _api_keys(**where: Any) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "EdgeAuthentication",
        "metadata": {"name": "keys"},
        "spec": {
            "targetRefs": [{"kind": "Gateway", "name": "edge"}],
            "apiKeys": {"secretRefs": [{"name": "partner-keys"}], **where},
        },
    }


HTTP = "spec.trafficPolicy.connectionPool.http"
MATCH = {"matches": [{"path": {"type": "PathPrefix", "value": "/orders"}}]}
REDIRECT = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}
HEADERS = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["x-debug"]}}

# (name, refused manifest, words of the refusal, the nearest manifest that is served)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...], dict[str, Any]]] = [
    (
        "destinationrule maxRetries",
        _destination_rule({"connectionPool": {"http": {"maxRetries": 20}}}),
        (f"{HTTP}.maxRetries", "maxRetries is not served", "RetryPolicy"),
        _destination_rule({"connectionPool": {"http": {"maxRequestsPerConnection": 20}}}),
    ),
    (
        "destinationrule subset port-level maxRetries",
        _subset_port_pool({"maxRetries": 5}),
        (
            "spec.subsets[0].trafficPolicy.portLevelSettings[0].connectionPool.http.maxRetries",
            NOT_SERVED,
        ),
        _subset_port_pool({"http1MaxPendingRequests": 5}),
    ),
    (
        "destinationrule minHealthPercent above 0",
        _destination_rule(
            {"outlierDetection": {"consecutive5xxErrors": 3, "minHealthPercent": 50}}
        ),
        (
            "spec.trafficPolicy.outlierDetection.minHealthPercent",
            "minHealthPercent above 0 is not served",
        ),
        _destination_rule({"outlierDetection": {"consecutive5xxErrors": 3, "minHealthPercent": 0}}),
    ),
    (
        "destinationrule consistentHash minimumRingSize",
        _destination_rule(
            {"loadBalancer": {"consistentHash": {"useSourceIp": True, "minimumRingSize": 1024}}}
        ),
        (
            "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize",
            "minimumRingSize is not served",
        ),
        _destination_rule({"loadBalancer": {"consistentHash": {"useSourceIp": True}}}),
    ),
    (
        "destinationrule tls insecureSkipVerify",
        _destination_rule({"tls": {"mode": "SIMPLE", "insecureSkipVerify": True}}),
        (
            "spec.trafficPolicy.tls.insecureSkipVerify",
            "insecureSkipVerify is not served",
            "always verifies",
        ),
        _destination_rule({"tls": {"mode": "SIMPLE", "insecureSkipVerify": False}}),
    ),
    (
        "route rule without backendRefs",
        _route({**MATCH, "filters": [HEADERS]}),
        (
            "spec.rules[0].backendRefs",
            "a rule needs backendRefs, or a RequestRedirect filter that answers it",
        ),
        _route({**MATCH, "filters": [REDIRECT]}),
    ),
    (
        "route rule with empty backendRefs",
        _route({**MATCH, "backendRefs": []}),
        ("spec.rules[0].backendRefs", "a rule needs backendRefs"),
        _route({**MATCH, "backendRefs": [{"name": "orders", "port": 8080}]}),
    ),
    (
        "route backendRef with filters sharing its service port",
        _route(
            {
                **MATCH,
                "backendRefs": [
                    {"name": "orders", "port": 8080, "filters": [HEADERS]},
                    {"name": "orders", "port": 8080},
                ],
            }
        ),
        (
            "spec.rules[0].backendRefs",
            "a backendRef with filters must be the only backendRef of its rule naming that"
            " Service port",
        ),
        _route(
            {
                **MATCH,
                "backendRefs": [
                    {"name": "orders", "port": 8080, "filters": [HEADERS]},
                    {"name": "orders-v2", "port": 8080},
                ],
            }
        ),
    ),
    (
        "route backendRef with a filter other than a header modifier",
        _route(
            {
                **MATCH,
                "backendRefs": [
                    {"name": "orders", "port": 8080, "filters": [{"type": "URLRewrite"}]}
                ],
            }
        ),
        ("spec.rules[0].backendRefs[0].filters[0].type", "RequestHeaderModifier"),
        _route({**MATCH, "backendRefs": [{"name": "orders", "port": 8080, "filters": [HEADERS]}]}),
    ),
    (
        "edgeauthentication clockSkew above 300s",
        _jwt("301s"),
        (
            "spec.jwt.providers[0].clockSkew",
            "clockSkew above 300s is not served",
        ),
        _jwt("5m"),
    ),
    (
        "edgeauthentication query key with stripKey by default",
        _api_keys(query="api_key"),
        (
            "spec.apiKeys.stripKey",
            "stripKey cannot remove a key read from the query string",
        ),
        _api_keys(query="api_key", stripKey=False),
    ),
    (
        "edgeauthentication query key with stripKey true",
        _api_keys(query="api_key", stripKey=True),
        ("spec.apiKeys.stripKey", "set stripKey: false, or read the key from a header"),
        _api_keys(header="x-api-key", stripKey=True),
    ),
]


@pytest.mark.parametrize(
    ("refused", "words", "served"),
    [(refused, words, served) for _, refused, words, served in CASES],
    ids=[name.replace(" ", "-") for name, *_ in CASES],
)
def test_value_not_served_is_refused_with_a_message_and_its_served_neighbour_is_accepted(
    refused: dict[str, Any],
    words: tuple[str, ...],
    served: dict[str, Any],
    api_client: ApiClient,
    meshgate_crds: None,
    module_namespace: str,
) -> None:
    with pytest.raises(Rejected) as rejected:
        apply(api_client, refused, module_namespace)
    message = rejected.value.message
    for want in words:
        assert want in message, f"{want!r} not in the server's message:\n{message}"

    stored = apply(api_client, served, module_namespace)
    assert stored["metadata"]["name"] == served["metadata"]["name"]


def test_istio_destination_rule_with_http2_max_requests_is_accepted_as_it_is(
    api_client: ApiClient, meshgate_crds: None, module_namespace: str
) -> None:
    """The Istio seed, `http2MaxRequests` included (the HTTP/2 upstream pool serves it), is
    stored exactly as written."""
    seed = yaml.safe_load((REPO / "examples" / "istio-seed" / "destination-rule.yaml").read_text())
    assert seed["spec"]["trafficPolicy"]["connectionPool"]["http"]["http2MaxRequests"] == 1000
    stored = apply(api_client, seed, module_namespace)
    assert stored["spec"]["trafficPolicy"]["connectionPool"]["http"]["http2MaxRequests"] == 1000

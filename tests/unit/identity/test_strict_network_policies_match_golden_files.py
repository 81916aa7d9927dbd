"""STRICT NetworkPolicies, golden-tested per case under tests/golden/identity/cases."""

from __future__ import annotations

import pytest
from identity_golden import case_names, check, load_case

from meshgate.identity.network_policy import strict_network_policies


@pytest.mark.parametrize("name", case_names())
def test_network_policies_match_golden_file(name: str) -> None:
    case = load_case(name)
    policies = strict_network_policies(
        case["peerAuthentications"],
        operator_namespace=case["operatorNamespace"],
        meshed_namespaces=case["meshedNamespaces"],
    )
    check(name, policies)

"""`policy.decide`: namespace label, Pod opt-in and opt-out, and the namespaces never touched."""

from __future__ import annotations

from typing import Any

import pytest

from meshgate.inject.policy import NamespaceInfo, decide
from meshgate.inject.settings import InjectSettings

ENABLED = {"meshgate.io/inject": "enabled"}
SETTINGS = InjectSettings(operator_namespace="mesh-operator")


def pod(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "annotations": annotations or {}},
        "spec": {"containers": [{"name": "app", "image": "x"}], **spec},
    }


@pytest.mark.parametrize(
    ("ns", "the_pod", "want"),
    [
        (NamespaceInfo("shop", ENABLED), pod(), True),
        (NamespaceInfo("shop"), pod(), False),
        (NamespaceInfo("shop", {"meshgate.io/inject": "disabled"}), pod(), False),
        (NamespaceInfo("shop"), pod({"meshgate.io/inject": "true"}), True),
        (NamespaceInfo("shop", ENABLED), pod({"meshgate.io/inject": "false"}), False),
        (NamespaceInfo("kube-system", ENABLED), pod({"meshgate.io/inject": "true"}), False),
        (NamespaceInfo("kube-public"), pod({"meshgate.io/inject": "true"}), False),
        (NamespaceInfo("kube-node-lease"), pod({"meshgate.io/inject": "true"}), False),
        (NamespaceInfo("mesh-operator", ENABLED), pod({"meshgate.io/inject": "true"}), False),
        (NamespaceInfo("shop", ENABLED), pod(hostNetwork=True), False),
    ],
    ids=[
        "labelled-namespace",
        "unlabelled-namespace",
        "namespace-label-other-value",
        "pod-annotation-opt-in",
        "pod-annotation-opt-out-wins",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "operator-namespace",
        "host-network",
    ],
)
def test_decision(ns: NamespaceInfo, the_pod: dict[str, Any], want: bool) -> None:
    assert decide(the_pod, ns, SETTINGS).inject is want


def test_gateway_pod_in_a_labelled_namespace_gets_no_sidecar() -> None:
    gateway = {
        "metadata": {"name": "gw", "labels": {"meshgate.io/gateway": "shop-edge"}},
        "spec": {"containers": [{"name": "meshproxy", "image": "meshproxy"}]},
    }
    decision = decide(gateway, NamespaceInfo("shop", ENABLED), SETTINGS)
    assert not decision.inject
    assert "gateway" in decision.reason


def test_pod_label_opts_in_like_the_annotation() -> None:
    labelled = {"metadata": {"labels": {"meshgate.io/inject": "true"}}, "spec": {}}
    assert decide(labelled, NamespaceInfo("shop"), SETTINGS).inject


def test_host_network_skip_comes_with_a_warning() -> None:
    d = decide(pod(hostNetwork=True), NamespaceInfo("shop", ENABLED), SETTINGS)
    assert any("hostNetwork" in w for w in d.warnings)


def test_unknown_annotation_value_is_ignored_with_a_warning() -> None:
    d = decide(pod({"meshgate.io/inject": "yes"}), NamespaceInfo("shop"), SETTINGS)
    assert not d.inject
    assert any('"yes" is ignored' in w for w in d.warnings)

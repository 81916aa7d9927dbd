"""For every golden pod shape: injecting twice changes nothing, and uninject restores the Pod."""

from __future__ import annotations

import pytest

from meshgate.inject import jsonpatch_ops, names
from meshgate.inject.patch import inject
from meshgate.inject.uninject import uninject

from .cases import case
from .golden import case_names


@pytest.mark.parametrize("name", case_names())
def test_injecting_an_injected_pod_yields_an_empty_patch(name: str) -> None:
    c = case(name)
    once = jsonpatch_ops.apply(c.pod, inject(c.pod, c.namespace, c.settings).ops)
    assert inject(once, c.namespace, c.settings).ops == []


@pytest.mark.parametrize("name", case_names())
def test_uninject_restores_the_pod_exactly(name: str) -> None:
    c = case(name)
    injected = jsonpatch_ops.apply(c.pod, inject(c.pod, c.namespace, c.settings).ops)
    assert uninject(injected) == c.pod


def test_uninject_keeps_the_apps_own_proxy_settings() -> None:
    c = case("existing-http-proxy-env")
    injected = jsonpatch_ops.apply(c.pod, inject(c.pod, c.namespace, c.settings).ops)
    legacy, helper = injected["spec"]["containers"]
    assert legacy["env"] == c.pod["spec"]["containers"][0]["env"]
    # The helper had only NO_PROXY: it gets our HTTP_PROXY but keeps its own NO_PROXY.
    helper_env = {e["name"]: e["value"] for e in helper["env"]}
    assert helper_env["NO_PROXY"] == "internal.example"
    assert helper_env["HTTP_PROXY"] == "http://127.0.0.1:15001"


def test_native_sidecar_starts_before_the_apps_init_containers() -> None:
    c = case("existing-native-sidecar")
    injected = jsonpatch_ops.apply(c.pod, inject(c.pod, c.namespace, c.settings).ops)
    inits = injected["spec"]["initContainers"]
    assert [i["name"] for i in inits] == [names.PROXY_CONTAINER, "log-shipper"]
    assert inits[0]["restartPolicy"] == "Always"
    assert [x["name"] for x in injected["spec"]["containers"]] == ["app"]


def test_capture_runs_before_the_proxy_and_redirects_the_annotated_ports() -> None:
    c = case("iptables-capture")
    injected = jsonpatch_ops.apply(c.pod, inject(c.pod, c.namespace, c.settings).ops)
    capture, proxy = injected["spec"]["initContainers"]
    assert (capture["name"], proxy["name"]) == (names.CAPTURE_CONTAINER, names.PROXY_CONTAINER)
    script = capture["command"][-1]
    assert "--dport 80 -j REDIRECT --to-ports 15001" in script
    assert "--dport 8080 -j REDIRECT --to-ports 15001" in script
    assert "--uid-owner 1337 -j RETURN" in script
    assert capture["securityContext"]["capabilities"]["add"] == ["NET_ADMIN", "NET_RAW"]


def test_before_1_29_the_proxy_is_a_plain_container_and_init_containers_keep_no_proxy_env() -> None:
    c = case("kube-1.28-plain-container")
    injected = jsonpatch_ops.apply(c.pod, inject(c.pod, c.namespace, c.settings).ops)
    assert [i["name"] for i in injected["spec"]["initContainers"]] == ["wait-db"]
    assert "env" not in injected["spec"]["initContainers"][0]
    proxy = injected["spec"]["containers"][-1]
    assert proxy["name"] == names.PROXY_CONTAINER
    assert "restartPolicy" not in proxy

"""`kubectl meshgate proxy-status`, `proxy-config` and `stat` against real proxies: the edge
scenario's gateway, reached only through the API server's Pod proxy (the CLI has no route of
its own to the Pod), reports the config version its ConfigMap names, shows its routes, and
counts the requests sent to it.

Manifests: `edge_api_versions/`, as the edge scenario applies them.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import Counter
from typing import Any

import pytest
from scenario_kit import User, request

from meshgate import cli

LISTENER_PORT = 8080


def run_cli(capsys: pytest.CaptureFixture[str], kubeconfig: str, *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = cli.main([*args, "--kubeconfig", kubeconfig, "-o", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_proxy_status_config_and_stat_read_the_gateway_through_the_api_server(
    user: User, kubeconfig: str, capsys: pytest.CaptureFixture[str]
) -> None:
    user.apply("edge_api_versions")
    user.condition("gateways.meshgate.io", "edge", "Programmed", timeout=60)
    pod = user.gateway_pods("edge")[0]
    address = pod["status"]["podIP"]
    # Both versions answer before the window opens: the traffic below goes to /v2, whose
    # backend may still be starting when /v1 already answers.
    for path in ("/v1/orders", "/v2/orders"):
        user.answer_within(
            functools.partial(
                request, address, LISTENER_PORT, f"{path}/1", {"host": "shop.example"}
            ),
            200,
            60.0,
            f"the gateway serving {path}",
        )

    code, status = run_cli(capsys, kubeconfig, "proxy-status", "-n", user.namespace)
    gateways = [p for p in status["proxies"] if p["role"] == "gateway"]
    assert [(p["owner"], p["status"]) for p in gateways] == [("edge", "SYNCED")], status
    assert gateways[0]["runningVersion"] == gateways[0]["desiredVersion"] != ""

    name = pod["metadata"]["name"]
    code, shown = run_cli(capsys, kubeconfig, "proxy-config", name, "routes", "-n", user.namespace)
    assert code == 0
    assert shown["version"] == gateways[0]["desiredVersion"]
    paths = {r["match"] for r in shown["routes"]}
    assert {"* /v1/orders", "* /v2/orders"} <= paths, paths

    # stat scrapes twice, a window apart: requests sent meanwhile are what it counts.
    stop = threading.Event()
    sent: list[int] = []

    def traffic() -> None:
        while not stop.is_set() and len(sent) < 2000:
            answer = request(
                address, LISTENER_PORT, f"/v2/orders/{len(sent)}", {"host": "shop.example"}
            )
            sent.append(answer.status)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        code, stat = run_cli(
            capsys, kubeconfig, "stat", "gateway", "-n", user.namespace, "--window", "3"
        )
    finally:
        stop.set()
        sender.join(30)
    assert code == 0
    # Said first: a success rate under 100 is then stat's miscount, not the gateway's answers.
    assert set(sent) == {200}, f"the gateway answered {dict(Counter(sent))}"
    edge = [s for s in stat["signals"] if s["name"] == "edge"]
    assert len(edge) == 1, stat
    assert 0 < edge[0]["requests"] <= len(sent)
    assert edge[0]["successRate"] == 100.0
    assert edge[0]["p50Ms"] is not None

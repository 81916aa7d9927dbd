"""With MESHGATE_POD_IP set, listeners on 0.0.0.0 or 127.0.0.1 and the admin port bind to the
pod's own address, so two pods with identical configs and ports share one host."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mesh_e2e import MeshProxy, port_open, request
from meshproxy_e2e import Backends, Behaviour, free_port


def test_two_proxies_with_the_same_ports_serve_on_their_own_addresses(
    backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    port, admin_port = free_port(), free_port()
    cfg = {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway"},
        "listeners": [
            {
                "name": "web",
                "address": "0.0.0.0",
                "port": port,
                "role": "edge",
                "virtualHosts": [
                    {
                        "name": "all",
                        "domains": ["*"],
                        "routes": [{"name": "app", "forward": {"clusters": [{"cluster": "app"}]}}],
                    }
                ],
            }
        ],
        "clusters": [{"name": "app", "endpoints": [{"address": "127.0.0.1", "port": app_port}]}],
    }

    for pod_ip in ("127.0.0.2", "127.0.0.3"):
        proxies(
            f"pod-{pod_ip}",
            cfg,
            env={"MESHGATE_POD_IP": pod_ip},
            admin_host=pod_ip,
            admin_port=admin_port,
        )

    for pod_ip in ("127.0.0.2", "127.0.0.3"):
        assert request(port, address=pod_ip, host="app.test", path=f"/{pod_ip}")[0] == 200
    assert not port_open("127.0.0.1", port)
    assert not port_open("127.0.0.1", admin_port)
    assert [s.path for s in app.seen] == ["/127.0.0.2", "/127.0.0.3"]

"""A sidecar tunnels CONNECT only to the destinations its outbound virtual hosts name, each to
the Service port's own cluster, whatever HTTP routes would do with a request there."""

from __future__ import annotations

from meshproxy import config
from meshproxy.policy.destinations import pod_destinations, tunnel_destinations


def vhost(name: str, domains: list[str], *routes: config.Route) -> config.VirtualHost:
    return config.VirtualHost(name=name, domains=domains, routes=list(routes))


def forward(name: str, *clusters: str) -> config.Route:
    return config.Route(
        name=name,
        forward=config.Forward(clusters=[config.WeightedCluster(cluster=c) for c in clusters]),
    )


def test_every_domain_with_a_port_names_the_service_ports_own_cluster() -> None:
    web = vhost(
        "shop/web:80",
        ["web", "web.shop", "198.19.0.7", "web:80", "Web.Shop:80", "198.19.0.7:80"],
        forward("canary", "shop/web-v2:80"),  # HTTP routes split; a tunnel goes to the Service
    )
    found = tunnel_destinations([web], ["shop/web:80", "shop/web-v2:80"])
    assert found == {
        "web:80": "shop/web:80",
        "web.shop:80": "shop/web:80",
        "198.19.0.7:80": "shop/web:80",
    }


def test_a_virtual_host_without_its_own_cluster_tunnels_where_its_first_forward_goes() -> None:
    api = vhost(
        "shop/api:8080",
        ["api:8080"],
        config.Route(name="moved", redirect=config.Redirect(hostname="x")),
        forward("split", "shop/api-v1:8080", "shop/api-v2:8080"),
    )
    redirect_only = vhost(
        "shop/old:80", ["old:80"], config.Route(name="r", redirect=config.Redirect(hostname="x"))
    )
    found = tunnel_destinations([api, redirect_only], ["shop/api-v1:8080", "shop/api-v2:8080"])
    assert found == {"api:8080": "shop/api-v1:8080"}


def test_a_domain_belongs_to_the_first_virtual_host_that_lists_it_and_wildcards_to_none() -> None:
    first = vhost("a/x:80", ["x:80"], forward("a", "a/x:80"))
    second = vhost("b/x:80", ["x:80", "*.example:443", "*"], forward("b", "b/x:80"))
    assert tunnel_destinations([first, second], ["a/x:80", "b/x:80"]) == {"x:80": "a/x:80"}


def test_pod_addresses_name_their_endpoint_and_a_mesh_cluster_wins_over_a_plain_one() -> None:
    def cluster(name: str, mode: str, *endpoints: tuple[str, int]) -> config.Cluster:
        return config.Cluster(
            name=name,
            endpoints=[config.Endpoint(address=a, port=p) for a, p in endpoints],
            tls=config.UpstreamTLS(mode=mode),  # type: ignore[arg-type]
        )

    found = pod_destinations(
        [
            cluster("plain/echo:80", "DISABLE", ("10.0.0.7", 8080), ("10.0.0.9", 80)),
            cluster("shop/echo:80", "MESH", ("10.0.0.8", 8080), ("10.0.0.7", 8080)),
            cluster("shop/v6:80", "MESH", ("FD00::1", 8080)),
        ]
    )
    assert found == {
        "10.0.0.8:8080": ("shop/echo:80", 0),
        "10.0.0.7:8080": ("shop/echo:80", 1),  # reached through its sidecar
        "[fd00::1]:8080": ("shop/v6:80", 0),
        "10.0.0.9:80": ("plain/echo:80", 1),
        "10.0.0.9": ("plain/echo:80", 1),  # port 80 may go unwritten
    }

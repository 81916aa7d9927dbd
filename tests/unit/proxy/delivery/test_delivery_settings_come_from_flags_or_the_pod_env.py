"""Where the proxy's config stream connects and what it asks for: flags first, then the env the
operator's Deployments and sidecar patch set; a named server with bad settings is an error."""

from __future__ import annotations

import pytest

from meshproxy.delivery.settings import DeliverySettingsError, from_env
from meshproxy.delivery.target import Target

SERVER_ID = "spiffe://cluster.local/ns/meshgate-system/sa/meshgate"


def test_no_server_named_means_no_stream() -> None:
    assert from_env({}) is None


def test_a_gateway_target_from_env_and_identity_files_under_the_pod_root() -> None:
    got = from_env(
        {
            "MESHGATE_CONFIG_SERVER": "meshgate-config.meshgate-system.svc:15012",
            "MESHGATE_CONFIG_SERVER_ID": SERVER_ID,
            "MESHGATE_CONFIG_TARGET": "gateway/shop/edge",
            "MESHGATE_FS_ROOT": "/state/pods/p/root",
        }
    )
    assert got is not None
    assert (got.host, got.port, got.server_id) == (
        "meshgate-config.meshgate-system.svc",
        15012,
        SERVER_ID,
    )
    assert got.target == Target("gateway", "shop", "edge")
    assert got.identity.cert_file == "/state/pods/p/root/etc/meshgate/identity/tls.crt"
    assert got.identity.trust_domain == "cluster.local"


def test_a_sidecar_asks_for_its_namespace_and_flags_win() -> None:
    env = {"POD_NAMESPACE": "shop", "MESHGATE_CONFIG_SERVER_ID": SERVER_ID}
    got = from_env(env, server="198.19.0.12:15012")
    assert got is not None
    assert got.target == Target("mesh", "shop")
    assert from_env(env, server="198.19.0.12:15012", target="mesh/bank").target == Target(  # type: ignore[union-attr]
        "mesh", "bank"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MESHGATE_CONFIG_SERVER": "nohost", "POD_NAMESPACE": "a"}, "is not host:port"),
        ({"MESHGATE_CONFIG_SERVER": "h:1", "POD_NAMESPACE": "a"}, "is not a mesh SPIFFE ID"),
        (
            {"MESHGATE_CONFIG_SERVER": "h:1", "MESHGATE_CONFIG_SERVER_ID": SERVER_ID},
            "is not gateway/",
        ),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(DeliverySettingsError, match=message):
        from_env(env)

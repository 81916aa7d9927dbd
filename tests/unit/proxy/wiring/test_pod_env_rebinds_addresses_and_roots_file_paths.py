"""`podenv.adjust`: the pod's address replaces wildcard and loopback binds, and absolute file
paths move under the pod's file root; nothing else in the config changes."""

from __future__ import annotations

from typing import Any

from meshproxy import config, podenv


def _cfg(**extra: Any) -> config.ProxyConfig:
    doc: dict[str, Any] = {
        "node": {"role": "sidecar"},
        "identity": {"certFile": "/var/run/id/tls.crt", "keyFile": "/var/run/id/tls.key",
                     "caFile": "/var/run/id/ca.crt"},
        "listeners": [
            {"name": "out", "address": "127.0.0.1", "port": 15001, "role": "outbound"},
            {"name": "in", "port": 15006, "role": "inbound", "inbound": {"allowedPorts": [8080]}},
            {"name": "fixed", "address": "10.1.2.3", "port": 9000, "role": "edge",
             "tls": {"certFile": "/etc/gw/tls.crt", "keyFile": "relative.key",
                     "sniCertificates": [{"hostnames": ["b.example"], "certFile": "/etc/b/tls.crt",
                                          "keyFile": "/etc/b/tls.key"}]}},
        ],
        "clusters": [{"name": "ext", "tls": {"mode": "SIMPLE", "caFile": "/etc/ca.pem"}}],
        "authn": [{"name": "keys", "apiKey": {"keysFile": "/etc/keys/keys.json"},
                   "jwt": {"providers": [{"issuer": "i", "jwksFile": "/etc/jwks.json"}]}}],
        "rateLimits": [{"name": "rl", "requests": 5, "mode": "Global",
                        "redisUrlFile": "/etc/redis/url"}],
    }  # fmt: skip
    doc.update(extra)
    return config.ProxyConfig.from_data(doc)


def test_without_the_variables_the_config_is_returned_unchanged() -> None:
    cfg = _cfg()
    assert podenv.adjust(cfg, {}) is cfg


def test_pod_ip_replaces_wildcard_and_loopback_binds_and_the_forward_address() -> None:
    cfg = podenv.adjust(_cfg(), {"MESHGATE_POD_IP": "127.0.0.7"})

    assert [lst.address for lst in cfg.listeners] == ["127.0.0.7", "127.0.0.7", "10.1.2.3"]
    inbound = cfg.listeners[1].inbound
    assert inbound is not None
    assert inbound.forward_address == "127.0.0.7"
    assert cfg.identity is not None
    assert cfg.identity.cert_file == "/var/run/id/tls.crt"


def test_fs_root_moves_every_absolute_file_path_and_keeps_relative_ones() -> None:
    cfg = podenv.adjust(_cfg(), {"MESHGATE_FS_ROOT": "/tmp/pods/a"})

    assert cfg.identity is not None
    assert (cfg.identity.cert_file, cfg.identity.key_file, cfg.identity.ca_file) == (
        "/tmp/pods/a/var/run/id/tls.crt",
        "/tmp/pods/a/var/run/id/tls.key",
        "/tmp/pods/a/var/run/id/ca.crt",
    )
    tls = cfg.listeners[2].tls
    assert tls is not None
    assert (tls.cert_file, tls.key_file, tls.client_ca_file) == (
        "/tmp/pods/a/etc/gw/tls.crt",
        "relative.key",
        None,
    )
    sni = tls.sni_certificates[0]
    assert sni.cert_file == "/tmp/pods/a/etc/b/tls.crt"
    assert sni.key_file == "/tmp/pods/a/etc/b/tls.key"
    assert cfg.clusters[0].tls.ca_file == "/tmp/pods/a/etc/ca.pem"
    api_key, jwt = cfg.authn[0].api_key, cfg.authn[0].jwt
    assert api_key is not None
    assert jwt is not None
    assert api_key.keys_file == "/tmp/pods/a/etc/keys/keys.json"
    assert jwt.providers[0].jwks_file == "/tmp/pods/a/etc/jwks.json"
    assert cfg.rate_limits[0].redis_url_file == "/tmp/pods/a/etc/redis/url"
    assert cfg.listeners[0].address == "127.0.0.1"


def test_both_variables_together_apply_both_rules() -> None:
    cfg = podenv.adjust(_cfg(), {"MESHGATE_POD_IP": "127.0.0.9", "MESHGATE_FS_ROOT": "/r"})

    assert cfg.listeners[0].address == "127.0.0.9"
    tls = cfg.listeners[2].tls
    assert tls is not None
    assert tls.cert_file == "/r/etc/gw/tls.crt"


def test_the_admin_address_follows_the_same_rule() -> None:
    env = {"MESHGATE_POD_IP": "127.0.0.5"}
    assert podenv.bind_address("0.0.0.0", env) == "127.0.0.5"
    assert podenv.bind_address("127.0.0.1", env) == "127.0.0.5"
    assert podenv.bind_address("10.0.0.1", env) == "10.0.0.1"
    assert podenv.bind_address("0.0.0.0", {}) == "0.0.0.0"

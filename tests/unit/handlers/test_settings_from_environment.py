"""Operator settings come from MESHGATE_* variables, with defaults for the rest."""

from __future__ import annotations

from meshgate.settings import Settings


def test_settings_read_from_environment() -> None:
    s = Settings.from_env(
        {
            "MESHGATE_WATCH_NAMESPACES": "shop, web,",
            "MESHGATE_TRUST_DOMAIN": "example.org",
            "MESHGATE_DEBOUNCE_SECONDS": "0.2",
            "MESHGATE_PEERING": "true",
        }
    )
    assert s.namespaces == ("shop", "web")
    assert s.trust_domain == "example.org"
    assert s.debounce_seconds == 0.2
    assert s.peering is True
    assert s.operator_namespace == "meshgate-system"


def test_empty_environment_watches_the_whole_cluster_standalone() -> None:
    s = Settings.from_env({})
    assert s.namespaces == ()
    assert s.peering is False

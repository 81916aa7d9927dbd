"""A gateway proxy and an injected sidecar ask for the same resources by default, whether the
operator runs from the chart, on its own (`meshgate operator`), or `meshgate inject` runs offline:
the chart's `proxy.resources`, `Settings` and `ProxyResources` hold one set of defaults."""

from __future__ import annotations

from pathlib import Path

import yaml

from meshgate.inject.settings import ProxyResources
from meshgate.settings import Settings

VALUES = Path(__file__).resolve().parents[2] / "charts" / "meshgate" / "values.yaml"


def test_the_three_sources_of_proxy_resource_defaults_agree() -> None:
    chart = yaml.safe_load(VALUES.read_text())["proxy"]["resources"]
    settings = Settings()
    cli = ProxyResources()
    assert (
        chart["requests"]["cpu"],
        chart["requests"]["memory"],
        chart["limits"]["memory"],
    ) == (settings.proxy_cpu_request, settings.proxy_memory_request, settings.proxy_memory_limit)
    assert (cli.cpu_request, cli.memory_request, cli.memory_limit) == (
        settings.proxy_cpu_request,
        settings.proxy_memory_request,
        settings.proxy_memory_limit,
    )

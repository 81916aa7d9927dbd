"""The convergence histogram: a change's time to its ConfigMap writes, and to every proxy polling
this replica running it, measured from when the change was observed."""

from __future__ import annotations

import re

from meshgate.push.convergence import Convergence
from meshgate.push.proxies import LIVE_SECONDS, ProxyBook
from meshproxy.delivery.target import Target

GW = Target("gateway", "shop", "edge")


def _count(text: str, stage: str, le: str) -> int:
    series = f'meshgate_config_convergence_seconds_bucket{{stage="{stage}",le="{le}"}}'
    found = re.search(re.escape(series) + r" (\d+)", text)
    assert found, text
    return int(found[1])


def test_acknowledged_waits_for_every_live_proxy_and_counts_from_the_observed_change() -> None:
    conv, proxies = Convergence(), ProxyBook()
    proxies.polled(GW, "198.18.0.5", "id", "v1", now=0.0)
    proxies.polled(GW, "198.18.0.6", "id", "v1", now=0.0)
    conv.written({GW: "v2"}, observed_at=10.0, written_at=10.04)
    conv.changed(GW, "v2", now=10.05)
    proxies.polled(GW, "198.18.0.5", "id", "v2", now=10.2)
    conv.acknowledged(GW, proxies.applied(GW, 10.2), now=10.2)
    assert _count(conv.render(), "acknowledged", "+Inf") == 0  # one proxy still runs v1
    proxies.polled(GW, "198.18.0.6", "id", "v2", now=10.6)
    conv.acknowledged(GW, proxies.applied(GW, 10.6), now=10.6)
    text = conv.render()
    assert _count(text, "written", "0.05") == 1
    assert _count(text, "acknowledged", "0.5") == 0  # 0.6 s since the change was observed
    assert _count(text, "acknowledged", "1.0") == 1


def test_a_change_this_replica_only_watched_counts_from_the_watch() -> None:
    conv, proxies = Convergence(), ProxyBook()
    conv.changed(GW, "v3", now=5.0)
    proxies.polled(GW, "198.18.0.5", "id", "v3", now=5.02)
    conv.acknowledged(GW, proxies.applied(GW, 5.02), now=5.02)
    text = conv.render()
    assert _count(text, "acknowledged", "0.025") == 1
    assert _count(text, "written", "+Inf") == 0


def test_proxy_status_counts_live_proxies_on_the_current_version() -> None:
    proxies = ProxyBook()
    proxies.polled(GW, "198.18.0.5", "id", "v2", now=0.0)
    proxies.polled(GW, "198.18.0.6", "id", "v1", now=0.0)
    proxies.polled(GW, "198.18.0.7", "id", "v2", now=-LIVE_SECONDS - 1)  # gone
    (status,) = proxies.status({GW: "v2"}, now=1.0)
    assert (status.current, status.total) == (1, 2)

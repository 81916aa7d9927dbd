"""This process's running config server, for the two places outside the push package that need
it: the routing reconcile's "configs written" hook (`Reconciler.on_written`) and the operator's
`/metrics`. None until the config server has started (and in processes that run none)."""

from __future__ import annotations

from collections.abc import Mapping

from meshproxy.delivery.target import Target, parse

from .server import ConfigServer

SERVER: ConfigServer | None = None


def configs_written(versions: Mapping[str, str], observed_at: float, written_at: float) -> None:
    """The reconcile wrote these configs (`gateway/<ns>/<name>` or `mesh/<ns>` -> version) for a
    change first observed at `observed_at` (both `time.monotonic()`). Any thread."""
    server = SERVER
    if server is None or not versions:
        return
    targets: dict[Target, str] = {}
    for name, version in versions.items():
        target = parse(name)
        if target is not None:
            targets[target] = version
    server.convergence.written(targets, observed_at, written_at)


def render_metrics() -> str:
    server = SERVER
    return "" if server is None else server.metrics_text()

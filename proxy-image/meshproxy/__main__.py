"""`meshproxy --config PATH [--admin-port N] [--stats-port N]` and `python -m meshproxy`: run the
proxy on uvloop.

The admin port (default 127.0.0.1:15000) answers every admin endpoint, `/config` included; the
stats port (off unless `--stats-port` is given; meshgate's Pods use 15090 on every address) answers
only `/live`, `/ready` and `/metrics`, for the kubelet and Prometheus.

`--log-level` (debug, info, warning, error; the chart's `proxy.logLevel`) sets what the proxy's
own JSON log lines (`observability.logformat`) include; the access log is not affected.
`--pod-labels-file` (or `MESHGATE_POD_LABELS_FILE`) names the downward-API labels file that
workload-scoped policy is matched against; with `MESHGATE_POD_IP` set, an admin or stats address
of `0.0.0.0` or `127.0.0.1` becomes the pod's address (see `podenv`: the local harness runs many
Pods on one host, where the Pod's address is its own loopback).

`--config-server HOST:PORT` (or `MESHGATE_CONFIG_SERVER`, with `MESHGATE_CONFIG_SERVER_ID` and
`MESHGATE_CONFIG_TARGET`; see `delivery.settings`) streams config from the operator over mTLS
with the workload certificate in `--identity-dir`; the file stays the boot and fallback source.

Exit codes: 0 after a SIGTERM/SIGINT drain; 2 for bad arguments (config server settings included)
or an admin or stats port that is taken.
A config that is missing or invalid at start does not stop the process: the admin port says
"not ready" and the watcher applies the first valid version that appears.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from meshproxy import podenv
from meshproxy.admin import AdminServer
from meshproxy.delivery import settings as delivery
from meshproxy.limits import collector
from meshproxy.limits.fds import raise_open_files_limit
from meshproxy.observability import logformat
from meshproxy.runtime import Proxy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meshproxy", formatter_class=_Formatter)
    parser.add_argument("--config", required=True, help="path of the proxy config JSON file")
    parser.add_argument("--admin-port", type=int, default=15000)
    parser.add_argument("--admin-address", default="127.0.0.1", help="loopback: /config stays in")
    parser.add_argument("--stats-port", type=int, default=0, help="/live, /ready, /metrics; 0: off")
    parser.add_argument("--stats-address", default="0.0.0.0")  # noqa: S104 - probes, Prometheus
    parser.add_argument("--pod-labels-file", default=None, help="downward-API labels file")
    parser.add_argument(
        "--log-level", default="info", type=str.lower, choices=logformat.LEVELS,
        help="least severe of the proxy's own log lines to write",
    )  # fmt: skip
    parser.add_argument("--config-server", default=None, help=f"host:port; else ${delivery.SERVER}")
    parser.add_argument("--config-server-id", default=None, help="the server's SPIFFE ID")
    parser.add_argument("--config-target", default=None, help="gateway/<ns>/<name> or mesh/<ns>")
    parser.add_argument(
        "--identity-dir", default=delivery.IDENTITY_DIR, help="tls.crt, tls.key, ca.crt"
    )
    args = parser.parse_args(argv)
    try:
        pushed = delivery.from_env(
            os.environ,
            server=args.config_server,
            server_id=args.config_server_id,
            target=args.config_target,
            identity_dir=args.identity_dir,
        )
    except delivery.DeliverySettingsError as exc:
        parser.error(str(exc))
    admin = (podenv.bind_address(args.admin_address, os.environ), args.admin_port)
    stats = (podenv.bind_address(args.stats_address, os.environ), args.stats_port)
    logformat.setup(args.log_level)
    raise_open_files_limit()  # each client connection is a file descriptor
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the image always has it
        return asyncio.run(_serve(args.config, admin, stats, args.pod_labels_file, pushed))
    return int(uvloop.run(_serve(args.config, admin, stats, args.pod_labels_file, pushed)))


class _Formatter(argparse.HelpFormatter):
    """Help at a fixed width: argparse's own asks `shutil` for the terminal's, and importing
    `shutil` (with bz2 and lzma) holds 0.6 MiB of every proxy, which never runs in a terminal."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=98)


async def _serve(
    config_path: str,
    admin_at: tuple[str, int],
    stats_at: tuple[str, int],
    labels_file: str | None,
    pushed: delivery.DeliverySettings | None = None,
) -> int:
    loop = asyncio.get_running_loop()
    proxy = Proxy(config_path, labels_file=labels_file)
    admin = AdminServer(proxy.ready, proxy.registry.render, proxy.active_config)
    stats = AdminServer(proxy.ready, proxy.registry.render, proxy.active_config, stats_only=True)
    servers = [("admin", admin, admin_at)] + ([("stats", stats, stats_at)] if stats_at[1] else [])
    for what, server, (address, port) in servers:
        try:
            await server.start(address, port)
        except OSError as exc:
            logging.getLogger("meshproxy").error("%s port %s: %s", what, port, exc.strerror)
            admin.close()
            return 2
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stream = None
    if pushed is not None:
        # Imported only when the operator streams config: a proxy reading its file alone never
        # holds the stream client, its wire format and certificate watch.
        from meshproxy.delivery.stream import ConfigStream

        stream = ConfigStream(pushed, proxy.apply_pushed, lambda: proxy.version)
    await proxy.start(stream)
    collector.settle()  # what start-up built is never walked again; full passes rare
    await stop.wait()
    logging.getLogger("meshproxy").info("draining")
    await proxy.drain()
    admin.close()
    stats.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

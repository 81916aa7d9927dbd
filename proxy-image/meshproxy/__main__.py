"""`meshproxy --config PATH [--admin-port N]` and `python -m meshproxy`: run the proxy on uvloop.

`--pod-labels-file` (or `MESHGATE_POD_LABELS_FILE`) names the downward-API labels file that
workload-scoped policy is matched against; with `MESHGATE_POD_IP` set, an admin address of
`0.0.0.0` or `127.0.0.1` becomes the pod's address (see `podenv`).

Exit codes: 0 after a SIGTERM/SIGINT drain; 2 for bad arguments or an admin port that is taken.
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
from meshproxy.runtime import Proxy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meshproxy")
    parser.add_argument("--config", required=True, help="path of the proxy config JSON file")
    parser.add_argument("--admin-port", type=int, default=15090)
    parser.add_argument("--admin-address", default="0.0.0.0")  # noqa: S104 - kubelet probes
    parser.add_argument("--pod-labels-file", default=None, help="downward-API labels file")
    args = parser.parse_args(argv)
    admin_address = podenv.bind_address(args.admin_address, os.environ)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format='{"level":"%(levelname)s","logger":"%(name)s","msg":%(message)r}',
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the image always has it
        return asyncio.run(
            _serve(args.config, admin_address, args.admin_port, args.pod_labels_file)
        )
    return int(
        uvloop.run(_serve(args.config, admin_address, args.admin_port, args.pod_labels_file))
    )


async def _serve(
    config_path: str, admin_address: str, admin_port: int, labels_file: str | None
) -> int:
    loop = asyncio.get_running_loop()
    proxy = Proxy(config_path, labels_file=labels_file)
    admin = AdminServer(proxy.ready, proxy.registry.render, proxy.active_config)
    try:
        await admin.start(admin_address, admin_port)
    except OSError as exc:
        logging.getLogger("meshproxy").error("admin port %s: %s", admin_port, exc.strerror)
        return 2
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await proxy.start()
    await stop.wait()
    logging.getLogger("meshproxy").info("draining")
    await proxy.drain()
    admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

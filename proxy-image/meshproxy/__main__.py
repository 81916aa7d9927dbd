"""`meshproxy --config PATH [--admin-port N]` and `python -m meshproxy`: run the proxy on uvloop.

Exit codes: 0 after a SIGTERM/SIGINT drain; 2 for bad arguments or an admin port that is taken.
A config that is missing or invalid at start does not stop the process: the admin port says
"not ready" and the watcher applies the first valid version that appears.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from meshproxy.admin import AdminServer
from meshproxy.runtime import Proxy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meshproxy")
    parser.add_argument("--config", required=True, help="path of the proxy config JSON file")
    parser.add_argument("--admin-port", type=int, default=15090)
    parser.add_argument("--admin-address", default="0.0.0.0")  # noqa: S104 - kubelet probes
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format='{"level":"%(levelname)s","logger":"%(name)s","msg":%(message)r}',
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the image always has it
        return asyncio.run(_serve(args.config, args.admin_address, args.admin_port))
    return int(uvloop.run(_serve(args.config, args.admin_address, args.admin_port)))


async def _serve(config_path: str, admin_address: str, admin_port: int) -> int:
    loop = asyncio.get_running_loop()
    proxy = Proxy(config_path)
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

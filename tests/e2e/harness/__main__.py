"""`python -m harness --kubeconfig PATH --state-dir DIR`: run the node agent until SIGTERM.

Prints `ready <node-ip> <subnet>` on stdout once the Node is registered, so a caller can wait for
it. On SIGTERM/SIGINT it stops every container process it started, then gives up its /24.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from .agent import Agent
from .commands import Images
from .kubeapi import Kube
from .kubeletapi import DEFAULT_BINARY, KubeletApi
from .podnet import PodNetwork


async def _main(args: argparse.Namespace, state_dir: Path) -> int:
    network = PodNetwork.claim()
    try:
        network.make_local()
        kube = Kube(args.kubeconfig)
        images = Images(
            proxy=args.proxy_image,
            operator=args.operator_image,
            echo_basic=Path(args.echo_basic) if args.echo_basic else None,
            echo_advanced=Path(args.echo_advanced) if args.echo_advanced else None,
        )
        kubelet_api = None
        if args.kubelet_api:
            kubelet_api = await KubeletApi.start(
                Path(args.kubelet_api), network.node_ip, state_dir, args.exec_timeout
            )
        port = kubelet_api.port if kubelet_api is not None else None
        agent = Agent(
            kube,
            network,
            state_dir,
            images,
            kubelet_port=port,
            volume_sync_period=args.volume_sync_period,
        )
        await agent.node.register()
        task = asyncio.create_task(agent.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        print(f"ready {network.node_ip} {network.subnet}", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if kubelet_api is not None:
            await kubelet_api.stop()
        kube.close()
        return 0
    finally:
        network.release()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m harness")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--proxy-image", default="meshproxy", help="the chart's proxy image")
    parser.add_argument("--operator-image", default="meshgate.local/operator")
    parser.add_argument(
        "--echo-basic",
        default=os.environ.get("MESHGATE_ECHO_BASIC", ""),
        help="the Gateway API suite's echo-basic program (make conformance-bins builds it)",
    )
    parser.add_argument(
        "--echo-advanced",
        default=os.environ.get("MESHGATE_ECHO_ADVANCED", ""),
        help="meshgate's emulation of the mesh suite's echo-advanced (make conformance-bins)",
    )
    parser.add_argument(
        "--kubelet-api",
        default=os.environ.get("MESHGATE_KUBELET_API")
        or (str(DEFAULT_BINARY) if DEFAULT_BINARY.is_file() else ""),
        help="the kubelet API server for exec and logs (make harness-bins); empty: none",
    )
    parser.add_argument(
        "--exec-timeout", type=float, default=120.0, help="seconds an exec'd command may run"
    )
    parser.add_argument(
        "--volume-sync-period",
        type=float,
        default=0.0,
        help="seconds between projections of a running Pod's ConfigMap and Secret volumes, as "
        "kubelet's sync period (60 on a node); 0: every pass. The Node annotation "
        "harness.meshgate.io/volume-sync-period overrides it at run time",
    )
    args = parser.parse_args()
    for name in ("echo_basic", "echo_advanced", "kubelet_api"):
        if getattr(args, name):
            setattr(args, name, str(Path(getattr(args, name)).resolve()))
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    return asyncio.run(_main(args, Path(args.state_dir).resolve()))


if __name__ == "__main__":
    sys.exit(main())

"""`meshgate cluster up|down|status`: the local control plane from the command line.

`up` prints, as its LAST line, exactly `export KUBECONFIG=<absolute path>`; scripts and the README
rely on that. `down` stops only the processes the state dir's pid files name.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .cluster import LocalCluster
from .errors import LocalClusterError
from .testbins import bin_dir_from_env


def default_dir() -> Path:
    """`$MESHGATE_LOCAL_DIR/cluster` (the Makefile exports it), else `.local/cluster`."""
    return Path(os.environ.get("MESHGATE_LOCAL_DIR", ".local")) / "cluster"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=("up", "down", "status"), help="start, stop or describe the cluster"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="the cluster's state directory (default: $MESHGATE_LOCAL_DIR/cluster)",
    )
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for a start (default 180)"
    )


def export_line(cluster: LocalCluster) -> str:
    return f"export KUBECONFIG={cluster.kubeconfig_path}"


def up(state_dir: Path, timeout: float = 180.0) -> LocalCluster:
    """Start (or find running) the cluster in `state_dir`, printing progress and the export line."""
    cluster = LocalCluster(state_dir, startup_timeout=timeout, log=print)
    if cluster.is_running():
        print(f"==> local control plane already running in {cluster.state_dir} ({cluster.server})")
    else:
        cluster.bin_dir = bin_dir_from_env()
        timings = cluster.start()
        print(f"==> local control plane ready in {timings} at {cluster.server}")
        print(f"==> logs in {cluster.state_dir / 'logs'}; stop it with `make down`")
    print(export_line(cluster), flush=True)
    return cluster


def down(state_dir: Path) -> None:
    cluster = LocalCluster(state_dir)
    stopped = cluster.stop()
    if stopped:
        print(f"==> stopped {', '.join(stopped)} ({cluster.state_dir})")
    else:
        print(f"==> no local control plane running in {cluster.state_dir}")


def status(state_dir: Path) -> int:
    cluster = LocalCluster(state_dir)
    st = cluster.status()
    for c in st.components:
        state = "running" if c.alive else "stopped"
        print(f"{c.name:<24} {state:<8} pid {c.pid if c.pid is not None else '-'}")
    print(f"{'server':<24} {st.server or '-'} ({'ready' if st.ready else 'not ready'})")
    if st.ready:
        print(export_line(cluster))
    return 0 if st.ready else 1


def run(args: argparse.Namespace) -> int:
    state_dir: Path = args.dir or default_dir()
    try:
        if args.action == "up":
            up(state_dir, args.timeout)
        elif args.action == "down":
            down(state_dir)
        else:
            return status(state_dir)
    except LocalClusterError as exc:
        print(f"meshgate cluster {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0

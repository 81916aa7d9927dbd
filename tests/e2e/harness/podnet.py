"""Pod IP addresses: one /24 of 198.18.0.0/16 per agent, routed to the loopback device.

Why not 127.0.0.N: the API server refuses loopback addresses in EndpointSlices ("may not be in
the loopback range"), so the real endpoint-slice controller could never publish a Pod. 198.18.0.0/15
is reserved for benchmarking and never routed on the Internet; a `local` route on `lo` makes
every address of our /24 bindable on this host, exactly as 127.0.0.0/8 is, and no packet leaves
the machine. Each agent claims its /24 with an exclusive lock file, so several agents (several
test sessions) on one machine never hand out the same address.

Pods take only the lower half, 198.18.0.0/16: the local control plane's Service range is the upper
half, 198.19.0.0/16 (`meshgate.localcluster.pki.SERVICE_CIDR`), and a Pod must never get an
address that is also a ClusterIP.

This module must never add a route outside 198.18.0.0/15, nor remove a route it did not add.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
import socket
import subprocess
from pathlib import Path

SUPERNET = ipaddress.IPv4Network("198.18.0.0/16")
LOCK_DIR = Path("/tmp/meshgate-podnet")


class PodNetworkError(RuntimeError):
    """The pod addresses cannot be made local; the message says what to do."""


def _bindable(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, 0))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False
            raise
    return True


class PodNetwork:
    """One claimed /24: the node's address is .1, Pods get .2 to .254 round robin."""

    def __init__(self, subnet: ipaddress.IPv4Network, lock_fd: int) -> None:
        self.subnet = subnet
        self._lock_fd = lock_fd
        self._route_added = False
        hosts = list(subnet.hosts())
        self.node_ip = str(hosts[0])
        self._pool = [str(h) for h in hosts[1:]]
        self._next = 0

    @classmethod
    def claim(cls, lock_dir: Path = LOCK_DIR) -> PodNetwork:
        """Lock the first free /24; the lock lives as long as this process holds the fd."""
        lock_dir.mkdir(parents=True, exist_ok=True)
        for subnet in SUPERNET.subnets(new_prefix=24):
            path = lock_dir / f"{subnet.network_address}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return cls(subnet, fd)
        raise PodNetworkError(f"every /24 of {SUPERNET} is claimed by another agent")

    def make_local(self) -> None:
        """Route the /24 to `lo` unless its addresses are already bindable here."""
        if _bindable(self.node_ip):
            return
        cmd = ["ip", "route", "add", "local", str(self.subnet), "dev", "lo"]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PodNetworkError(
                f"cannot make {self.subnet} local: `{' '.join(cmd)}` said "
                f"{result.stderr.strip()!r}. The agent needs CAP_NET_ADMIN in its network "
                "namespace: run the tests as root, or inside `unshare --user --map-root-user "
                "--net` (then also `ip link set lo up`)."
            )
        self._route_added = True
        if not _bindable(self.node_ip):
            raise PodNetworkError(f"{self.subnet} routed to lo but {self.node_ip} not bindable")

    def allocate(self, in_use: set[str]) -> str:
        """The next free address; round robin so a just-freed address is reused last."""
        for _ in range(len(self._pool)):
            candidate = self._pool[self._next]
            self._next = (self._next + 1) % len(self._pool)
            if candidate not in in_use:
                return candidate
        raise PodNetworkError(f"no free Pod address left in {self.subnet}")

    def owns(self, address: str) -> bool:
        with contextlib.suppress(ValueError):
            return ipaddress.IPv4Address(address) in self.subnet
        return False

    def release(self) -> None:
        """Remove the route this agent added and give up the /24."""
        if self._route_added:
            subprocess.run(
                ["ip", "route", "del", "local", str(self.subnet), "dev", "lo"],
                capture_output=True,
                check=False,
            )
            self._route_added = False
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)

"""Free TCP ports on 127.0.0.1 for the control plane's listeners.

Never hands out a port on any address but loopback: the local control plane must not be reachable
from the network.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """Return `count` distinct ports that were free on 127.0.0.1 a moment ago.

    All sockets stay bound until every port is chosen, so one call never returns the same port
    twice. Another program can still take a port before our process binds it; the caller retries
    a start that fails with "address already in use".
    """
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports

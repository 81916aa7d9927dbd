"""A container that runs and answers nothing: the stand-in for an image no test ever queries.

The Gateway API conformance suite's base manifests start a coredns Deployment that only its
UDPRoute tests query (outside the GATEWAY-HTTP profile); the suite still waits for every Pod
of its namespaces to be Ready, and a Pod without a readiness probe is Ready once it runs.
Exits 0 on SIGTERM, as a well-behaved container does.
"""

from __future__ import annotations

import signal
import sys


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())

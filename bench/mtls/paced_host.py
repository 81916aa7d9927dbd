"""`bench/proxy/paced.py` with another `Host`: the mesh hop routes on `backend.bench:<port>`.

paced.py always sends `Host: bench.local`; a sidecar's outbound listener picks its virtual host
by the Service name, and a plaintext inbound side takes the target port from `Host`. This sets
the one request line paced.py writes, then runs paced.py's own `main` unchanged.

    .venv/bin/python bench/mtls/paced_host.py --host backend.bench:8080 --port 15001 --rate 500
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "proxy"))

import paced  # found through the path line above


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--host":
        print("usage: paced_host.py --host HOST[:PORT] <paced.py arguments>", file=sys.stderr)
        return 2
    host, rest = argv[1], argv[2:]
    paced.REQUEST = f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: meshgate-bench\r\n\r\n".encode()
    return paced.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

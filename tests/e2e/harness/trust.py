"""The node's CA trust store: what an image's `/etc/ssl/certs` is on a real node.

Every container process gets `SSL_CERT_FILE` naming one file in the agent's state directory: a
copy of the host's default CA bundle when the agent starts, to which a test may append the CA of
a server it runs (an identity provider serving a JWKS over HTTPS, say), as a cluster operator
bakes a private CA into an image. OpenSSL reads the file when a default TLS context is created,
so a CA added later reaches the next connection of a running process.
"""

from __future__ import annotations

import ssl
from pathlib import Path

FILE_NAME = "node-ca-certificates.pem"


def store(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def create(state_dir: Path) -> Path:
    """The store, seeded with the host's default bundle (empty when the host has none)."""
    path = store(state_dir)
    cafile = ssl.get_default_verify_paths().cafile
    seed = Path(cafile).read_bytes() if cafile and Path(cafile).is_file() else b""
    path.write_bytes(seed)
    return path


def add(state_dir: Path, ca_pem: bytes) -> None:
    """Trust `ca_pem` (one or more PEM certificates) from now on, in every container."""
    with store(state_dir).open("ab") as out:
        out.write(b"\n" + ca_pem.strip() + b"\n")

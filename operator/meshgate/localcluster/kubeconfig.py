"""Kubeconfig files for the local control plane's clients (the admin, the controller-manager).

Files reference the certificates by absolute path rather than embedding them, so a reader can
inspect the PKI next to them. This module only writes files; it never talks to a server.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

CONTEXT = "meshgate-local"


def write_kubeconfig(
    path: Path, *, server: str, ca_cert: Path, client_cert: Path, client_key: Path, user: str
) -> Path:
    """Write a single-context kubeconfig for `user` at `server`; return its absolute path."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority": str(ca_cert.resolve())},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(client_cert.resolve()),
                    "client-key": str(client_key.resolve()),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return path.resolve()

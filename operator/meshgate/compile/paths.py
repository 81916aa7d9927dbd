"""Where generated workloads mount what the proxy config points at.

Compile writes these paths into proxy config; render mounts the volumes at them. Keeping both
sides on one set of constants is what makes the config usable inside the pod.
"""

from __future__ import annotations

CONFIG_DIR = "/etc/meshgate"
CONFIG_FILE = f"{CONFIG_DIR}/config.json"
CONFIG_KEY = "config.json"
IDENTITY_DIR = "/etc/meshgate/identity"
CERTS_DIR = "/etc/meshgate/certs"

ADMIN_PORT = 15090
OUTBOUND_PORT = 15001
INBOUND_PORT = 15006


def listener_cert_dir(secret: str) -> str:
    return f"{CERTS_DIR}/{secret}"


def gateway_config_map(gateway: str) -> str:
    return f"meshgate-gw-{gateway}"


MESH_CONFIG_MAP = "meshgate-mesh"


def gateway_identity_secret(gateway: str) -> str:
    """The gateway's mesh identity (issued by the identity controller, mounted optionally)."""
    return f"meshgate-gw-{gateway}-identity"

"""Where the config server is, whom to expect there, and what to ask it for; read once at start.

From flags, else the environment the operator's Deployments and sidecar patch set:

- `MESHGATE_CONFIG_SERVER`: `host:port` of the operator's config server; unset: no stream, the
  proxy follows its file only (as before push delivery existed);
- `MESHGATE_CONFIG_SERVER_ID`: the SPIFFE ID the server's certificate must carry;
- `MESHGATE_CONFIG_TARGET`: `gateway/<ns>/<name>` or `mesh/<ns>`; a sidecar without it asks for
  `mesh/$POD_NAMESPACE`.

The proxy authenticates with its workload certificate (`tls.crt`, `tls.key`, `ca.crt` of the
identity directory, under `MESHGATE_FS_ROOT` when set). Pure: the mapping comes in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from meshproxy import config, podenv
from meshproxy.tls.identity import parse_spiffe_id

from . import target as targets

SERVER = "MESHGATE_CONFIG_SERVER"
SERVER_ID = "MESHGATE_CONFIG_SERVER_ID"
TARGET = "MESHGATE_CONFIG_TARGET"
POD_NAMESPACE = "POD_NAMESPACE"
IDENTITY_DIR = "/etc/meshgate/identity"


class DeliverySettingsError(ValueError):
    """A config server is named but cannot be used as given; the message says which setting."""


@dataclass(frozen=True)
class DeliverySettings:
    host: str
    port: int
    server_id: str
    target: targets.Target
    identity: config.Identity  # the proxy's own certificate, key and trust bundle


def from_env(
    env: Mapping[str, str],
    *,
    server: str | None = None,
    server_id: str | None = None,
    target: str | None = None,
    identity_dir: str = IDENTITY_DIR,
) -> DeliverySettings | None:
    """The settings, or None when no config server is named."""
    address = server or env.get(SERVER, "").strip()
    if not address:
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DeliverySettingsError(f"{SERVER}={address!r} is not host:port")
    expected = server_id or env.get(SERVER_ID, "").strip()
    parsed_id = parse_spiffe_id(expected)
    if parsed_id is None:
        raise DeliverySettingsError(f"{SERVER_ID}={expected!r} is not a mesh SPIFFE ID")
    named = target or env.get(TARGET, "").strip()
    if not named and env.get(POD_NAMESPACE):
        named = f"mesh/{env[POD_NAMESPACE]}"
    wanted = targets.parse(named)
    if wanted is None:
        raise DeliverySettingsError(
            f"{TARGET}={named!r} is not gateway/<namespace>/<name> or mesh/<namespace>"
        )
    root = env.get(podenv.FS_ROOT) or ""
    directory = os.path.join(root, identity_dir.lstrip("/")) if root else identity_dir
    identity = config.Identity(
        cert_file=os.path.join(directory, "tls.crt"),
        key_file=os.path.join(directory, "tls.key"),
        ca_file=os.path.join(directory, "ca.crt"),
        trust_domain=parsed_id.trust_domain,
    )
    return DeliverySettings(host.strip("[]"), int(port), expected, wanted, identity)

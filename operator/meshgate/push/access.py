"""Which identity may have which config. Pure: a verified SPIFFE ID and a target in, a refusal
reason or None out.

- `gateway/<ns>/<gw>`: only the gateway's own identity, `ns/<ns>/sa/meshgate-gw-<gw>` (issued by
  the identity controller for every Gateway's proxies);
- `mesh/<ns>`: any identity of namespace `<ns>` (every sidecar there runs that config) except a
  gateway's, which is no sidecar.

This module must never take an identity from anything but the caller's verified certificate.
"""

from __future__ import annotations

from meshgate.identity.meshed import GATEWAY_ACCOUNT_PREFIX, gateway_service_account
from meshproxy.delivery.target import Target
from meshproxy.tls.identity import SpiffeId


def refusal(peer: SpiffeId | None, target: Target, trust_domain: str) -> str | None:
    """Why `peer` may not have `target`'s config, or None when it may."""
    if peer is None:
        return "no verified mesh identity"
    who = f"spiffe://{peer.trust_domain}/ns/{peer.namespace}/sa/{peer.service_account}"
    if peer.trust_domain != trust_domain:
        return f"{who} is not of trust domain {trust_domain}"
    if peer.namespace != target.namespace:
        return f"{who} may not have {target}: another namespace"
    if target.kind == "gateway":
        if peer.service_account != gateway_service_account(target.name):
            return f"{who} may not have {target}: not that gateway's identity"
        return None
    if peer.service_account.startswith(GATEWAY_ACCOUNT_PREFIX):
        return f"{who} may not have {target}: a gateway's identity runs no sidecar"
    return None

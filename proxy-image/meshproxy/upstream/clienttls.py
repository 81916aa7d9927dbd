"""TLS for a cluster's upstream connections: which context a new connection uses and what the
peer must prove once the handshake is done.

- `MESH`: the workload's mesh client context, read per new connection from the reloading
  identity (a rotated certificate is used from the next connection on); the server is checked by
  the SPIFFE ID in its verified certificate against `expectedIdentities`, not by hostname.
- `SIMPLE` / `MUTUAL`: a context built once from the cluster's files; OpenSSL checks the server
  name (`sni`, else the endpoint address).

This module must never accept a mesh peer it did not verify: no identity is a mismatch.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from meshproxy import config
from meshproxy.observability.metrics import Child
from meshproxy.tls.contexts import ALPN, H2_ALPN, upstream_client_context
from meshproxy.tls.errors import TLSFilesError
from meshproxy.tls.identity import identity_allowed, peer_spiffe_id
from meshproxy.tls.reload import ReloadingIdentity


class ClientTLS:
    __slots__ = ("_check", "_expected", "_rejected", "_trust_domain", "context", "sni")

    def __init__(
        self,
        context: Callable[[], ssl.SSLContext],
        sni: str | None,
        trust_domain: str | None = None,
        expected: list[str] | None = None,
        rejected: Child | None = None,
    ) -> None:
        self.context = context
        self.sni = sni
        self._check = trust_domain is not None
        self._trust_domain = trust_domain or ""
        self._expected = tuple(expected or ())
        self._rejected = rejected

    @property
    def mesh(self) -> bool:
        """A mesh peer: another meshproxy's inbound side, checked by SPIFFE ID."""
        return self._check

    def server_hostname(self, address: str) -> str | None:
        """SNI and checked name; a mesh peer is dialled by pod IP and named by SPIFFE ID."""
        if self._check:
            return None
        return self.sni or address

    def peer_ok(self, ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bool:
        if not self._check:
            return True
        if identity_allowed(peer_spiffe_id(ssl_object, self._trust_domain), self._expected):
            return True
        if self._rejected is not None:
            self._rejected.inc()
        return False


def client_tls(
    cfg: config.Cluster, identity: ReloadingIdentity | None, rejected: Child | None
) -> ClientTLS | None:
    """The cluster's upstream TLS, or None for plaintext. ValueError when it cannot be built."""
    tls = cfg.tls
    if tls.mode == "DISABLE":
        return None
    h2 = cfg.protocol == "HTTP2"
    if tls.mode == "MESH":
        if identity is None:
            raise ValueError(f"cluster {cfg.name!r}: tls mode MESH needs the proxy's identity")
        return ClientTLS(
            identity.client_context_h2 if h2 else identity.client_context,
            None,
            identity.identity.trust_domain,
            tls.expected_identities,
            rejected,
        )
    try:
        context = upstream_client_context(tls, H2_ALPN if h2 else ALPN)
    except TLSFilesError as exc:
        raise ValueError(f"cluster {cfg.name!r}: {exc}") from None
    assert context is not None  # only DISABLE gives None, handled above
    return ClientTLS(lambda: context, tls.sni)

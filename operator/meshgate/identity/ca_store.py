"""Load the mesh CA from its Secret in the operator namespace, creating it on first start.

The default Secret `meshgate-ca` is created once, with a create call that fails when it already
exists, so two operator processes starting together cannot each make a CA: the loser reads the
winner's. A Secret named by `MESHGATE_CA_SECRET` belongs to the user (e.g. cert-manager): it is
read, never created or written, and the identity reconcile waits until it exists. This module
must never log the Secret or put anything from its data into an exception message (the messages
of `CertError` are key-free by contract).
"""

from __future__ import annotations

from datetime import datetime

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.certs.errors import CertError
from meshgate.certs.secret import ca_secret, read_ca_secret
from meshgate.kube.rest import SECRET, KubeError, Rest

from .plan import CaRef


class CaUnavailable(Exception):
    """No usable CA: the message says which Secret and what to do, never what it holds."""


def load_or_create_ca(
    kube: Rest,
    *,
    namespace: str,
    name: str,
    supplied: bool,
    trust_domain: str,
    now: datetime,
) -> CaRef:
    body = kube.read(SECRET, namespace, name)
    if body is None:
        if supplied:
            raise CaUnavailable(
                f"CA Secret {namespace}/{name} (MESHGATE_CA_SECRET) does not exist; create it "
                "with tls.crt and tls.key of a CA, or unset MESHGATE_CA_SECRET"
            )
        body = _create(kube, namespace, name, trust_domain, now)
    try:
        ca, bundle = read_ca_secret(body)
    except CertError as exc:
        raise CaUnavailable(f"CA Secret {namespace}/{name} cannot be used: {exc}") from None
    return CaRef(ca=ca, bundle=bundle, namespace=namespace, secret=name)


def _create(
    kube: Rest, namespace: str, name: str, trust_domain: str, now: datetime
) -> dict[str, object]:
    ca = create_root_ca(trust_domain, now)
    body = ca_secret(ca, TrustBundle.of([ca.cert]), name=name, namespace=namespace)
    try:
        return kube.create(SECRET, namespace, dict(body))
    except KubeError as exc:
        if exc.status != 409:
            raise
    # Another process created it between our read and our create: use theirs.
    existing = kube.read(SECRET, namespace, name)
    if existing is None:
        raise CaUnavailable(f"CA Secret {namespace}/{name} was created and deleted at once")
    return existing

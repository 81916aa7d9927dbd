"""Turn an `Issue` decision into the identity Secret body: a fresh key and certificate.

Pure apart from the randomness of the new key: no clock (`now` is passed in), no I/O. The body
holds key material, so callers hand it to the API server and to nothing else; this module must
never log it or put it into an exception message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority
from meshgate.certs.secret import SecretBody, identity_secret
from meshgate.certs.workload import issue_workload_certificate

from .meshed import GATEWAY_ACCOUNT_PREFIX, WantedIdentity

SOURCE_ANNOTATION = "meshgate.io/identity-for"


def identity_secret_body(
    want: WantedIdentity,
    ca: CertificateAuthority,
    bundle: TrustBundle,
    *,
    trust_domain: str,
    now: datetime,
    validity: timedelta,
) -> SecretBody:
    """CertError (with a key-free message) when the CA cannot issue for this identity."""
    issued = issue_workload_certificate(
        ca,
        bundle,
        trust_domain=trust_domain,
        namespace=want.namespace,
        service_account=want.service_account,
        now=now,
        validity=validity,
    )
    body = identity_secret(
        issued,
        name=want.secret_name,
        namespace=want.namespace,
        service_account=want.service_account,
    )
    # Says why the Secret exists (`kubectl describe` readers ask), never what it holds.
    owner = want.service_account
    if want.source == "Gateway":
        owner = owner.removeprefix(GATEWAY_ACCOUNT_PREFIX)
    body["metadata"].setdefault("annotations", {})[SOURCE_ANNOTATION] = f"{want.source}/{owner}"
    return body

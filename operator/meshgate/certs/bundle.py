"""The trust bundle: the root certificates a proxy trusts, more than one during a CA rotation.

A rotation is: add the new root (everyone trusts both), re-issue workload certificates from the
new CA, then drop the old root. The bundle only holds CA certificates, never keys, and keeps
the order roots were added so its PEM is stable for a given history (no Secret churn).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from meshgate.certs.errors import CertError


@dataclass(frozen=True)
class TrustBundle:
    roots: tuple[x509.Certificate, ...]

    @classmethod
    def of(cls, roots: Iterable[x509.Certificate]) -> TrustBundle:
        kept: list[x509.Certificate] = []
        seen: set[bytes] = set()
        for root in roots:
            _require_ca(root)
            der = root.public_bytes(serialization.Encoding.DER)
            if der not in seen:
                seen.add(der)
                kept.append(root)
        if not kept:
            raise CertError("trust bundle: at least one CA certificate is needed")
        return cls(tuple(kept))

    @classmethod
    def from_pem(cls, pem: str | bytes) -> TrustBundle:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise CertError("trust bundle: no PEM certificates found") from None
        return cls.of(certs)

    def to_pem(self) -> str:
        return "".join(
            root.public_bytes(serialization.Encoding.PEM).decode("ascii") for root in self.roots
        )

    def with_root(self, root: x509.Certificate) -> TrustBundle:
        """The bundle plus `root` (kept once): the first step of a CA rotation."""
        return TrustBundle.of([*self.roots, root])

    def without_root(self, root: x509.Certificate) -> TrustBundle:
        """The bundle minus `root`: the last step of a CA rotation."""
        return TrustBundle.of(r for r in self.roots if r != root)

    def expired_roots(self, now: datetime) -> tuple[x509.Certificate, ...]:
        return tuple(r for r in self.roots if r.not_valid_after_utc <= now)

    def __contains__(self, cert: object) -> bool:
        return cert in self.roots


def _require_ca(cert: x509.Certificate) -> None:
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    if not ca:
        raise CertError(f"trust bundle: {cert.subject.rfc4514_string()!r} is not a CA certificate")

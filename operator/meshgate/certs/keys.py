"""Private keys: generating mesh keys, serialising them, and signing with any supported key.

Mesh keys are ECDSA P-256. A user-supplied CA may also hold an RSA or Ed25519 key, so signing
picks the hash the key type needs. Key bytes only ever leave this module as PEM for a Secret.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from meshgate.certs.errors import CertError

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def new_mesh_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_to_pem(key: SigningKey) -> str:
    # PKCS#8 unencrypted: what Python's ssl (load_cert_chain) and Kubernetes TLS Secrets expect.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def key_from_pem(pem: str | bytes, what: str) -> SigningKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # The library's message may describe the bytes it saw; ours never does.
        raise CertError(f"{what}: not an unencrypted PEM private key") from None
    if not isinstance(key, SigningKey):
        raise CertError(f"{what}: key type {type(key).__name__} cannot sign certificates")
    return key


def signature_hash(key: SigningKey) -> hashes.SHA256 | None:
    # Ed25519 signs the message itself; the builder wants None for it.
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()

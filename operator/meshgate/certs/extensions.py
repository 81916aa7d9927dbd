"""The X.509 key usages meshgate issues, spelled once.

`x509.KeyUsage` wants all nine flags every time; naming the two shapes we use keeps the
issuers readable and keeps them from drifting apart.
"""

from cryptography import x509


def _usage(*, sign_certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        # A CA signs certificates and CRLs; a leaf only signs handshakes. EC keys never
        # encipher keys (ECDHE agrees them), so keyEncipherment is never set.
        digital_signature=not sign_certs,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


CA_KEY_USAGE = _usage(sign_certs=True)
LEAF_KEY_USAGE = _usage(sign_certs=False)

"""ReloadingEdgeCertificate with `sniCertificates`: each named host gets its certificate, any
other name the listener's own; a rotated SNI certificate reaches new handshakes, and a broken
pair keeps every previous context."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from meshgate.certs.ca import create_root_ca
from meshgate.certs.serving import issue_serving_certificate
from meshproxy.config import ServerTLS, SniCertificate
from meshproxy.tls.reload import ReloadingEdgeCertificate

NOW = datetime.now(UTC)
CA = create_root_ca("cluster.local", NOW - timedelta(hours=1))


def _write(directory: Path, dns: str) -> tuple[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    issued = issue_serving_certificate(
        CA, service="gw", namespace="edge", now=datetime.now(UTC), extra_dns_names=(dns,)
    )
    (directory / "tls.crt").write_text(issued.cert_pem)
    (directory / "tls.key").write_text(issued.key_pem)
    return str(directory / "tls.crt"), str(directory / "tls.key")


def _names(server: ssl.SSLContext, sni: str) -> set[str]:
    """The DNS names of the certificate `server` presents to a client naming `sni`, found by a
    real handshake over memory buffers."""
    client = ssl.create_default_context(cadata=CA.cert_pem)
    client.check_hostname = False
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_client = client.wrap_bio(c_in, c_out, server_hostname=sni)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    done = [False, False]
    for _ in range(10):
        for index, side in enumerate((tls_client, tls_server)):
            try:
                side.do_handshake()
                done[index] = True
            except ssl.SSLWantReadError:
                pass
            s_in.write(c_out.read())
            c_in.write(s_out.read())
        if all(done):
            break
    der = tls_client.getpeercert(binary_form=True)
    assert der is not None
    san = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    return {n for n in san.value.get_values_for_type(x509.DNSName) if "svc" not in n}


def test_each_name_gets_its_certificate_and_a_rotation_reaches_it(tmp_path: Path) -> None:
    cert, key = _write(tmp_path / "default", "default.test")
    shop_cert, shop_key = _write(tmp_path / "shop", "shop.test")
    tls = ServerTLS(
        cert_file=cert,
        key_file=key,
        sni_certificates=[
            SniCertificate(
                hostnames=["shop.test", "*.shop.test"], cert_file=shop_cert, key_file=shop_key
            )
        ],
    )
    edge = ReloadingEdgeCertificate(tls)
    switch = edge.switch
    assert switch.context_for("shop.test") is switch.context_for("www.shop.test")
    assert switch.context_for("shop.test") is not switch.context_for("other.test")
    assert switch.context_for("a.b.shop.test") is switch.context_for(None)
    assert _names(switch.outer, "shop.test") == {"shop.test"}
    assert _names(switch.outer, "www.shop.test") == {"shop.test"}
    assert _names(switch.outer, "other.test") == {"default.test"}

    before = switch.context_for("shop.test")
    _write(tmp_path / "shop", "shop.test")
    assert edge.poll() == "reloaded"
    assert switch.context_for("shop.test") is not before
    assert _names(switch.outer, "shop.test") == {"shop.test"}

    kept = (switch.context_for("shop.test"), switch.context_for(None))
    (tmp_path / "shop" / "tls.key").write_text(
        (tmp_path / "default" / "tls.key").read_text()
    )  # a key that does not match the certificate
    assert edge.poll() == "failed"
    assert (switch.context_for("shop.test"), switch.context_for(None)) == kept

from __future__ import annotations

from datetime import datetime, timedelta
from ipaddress import ip_address as ip

import pytest
from cryptography import x509
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store

from meshgate.certs.ca import CertificateAuthority
from meshgate.certs.errors import CertError
from meshgate.certs.serving import issue_serving_certificate


def test_serving_cert_verifies_for_the_service_name_the_apiserver_dials(
    ca: CertificateAuthority, now: datetime
) -> None:
    served = issue_serving_certificate(ca, service="meshgate-webhook", namespace="mg", now=now)
    leaf = x509.load_pem_x509_certificate(served.cert_pem.encode())
    verifier = (
        PolicyBuilder()
        .store(Store([ca.cert]))
        .time(now)
        .build_server_verifier(DNSName("meshgate-webhook.mg.svc"))
    )
    verifier.verify(leaf, [])
    assert served.ca_pem == ca.cert_pem
    assert leaf.not_valid_after_utc == now + timedelta(days=365)


def test_serving_cert_is_server_auth_only_and_carries_no_mesh_identity(
    ca: CertificateAuthority, now: datetime
) -> None:
    served = issue_serving_certificate(ca, service="wh", namespace="mg", now=now)
    leaf = x509.load_pem_x509_certificate(served.cert_pem.encode())
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == []
    assert "wh.mg.svc" in san.get_values_for_type(x509.DNSName)
    assert "PRIVATE" not in repr(served)


def test_serving_cert_verifies_for_an_ip_address_the_apiserver_dials_by_url(
    ca: CertificateAuthority, now: datetime
) -> None:
    served = issue_serving_certificate(
        ca, service="wh", namespace="mg", now=now, ip_addresses=("127.0.0.1", "::1")
    )
    leaf = x509.load_pem_x509_certificate(served.cert_pem.encode())
    verifier = (
        PolicyBuilder()
        .store(Store([ca.cert]))
        .time(now)
        .build_server_verifier(IPAddress(ip("127.0.0.1")))
    )
    verifier.verify(leaf, [])
    assert served.ip_addresses == ("127.0.0.1", "::1")


def test_serving_cert_refuses_an_address_that_is_not_an_ip(
    ca: CertificateAuthority, now: datetime
) -> None:
    with pytest.raises(CertError, match="does not appear to be an IPv4 or IPv6 address"):
        issue_serving_certificate(ca, service="wh", namespace="mg", now=now, ip_addresses=("wh",))


def test_a_namespace_too_long_for_a_common_name_still_gets_a_certificate(
    ca: CertificateAuthority, now: datetime
) -> None:
    namespace = "meshgate-system-with-a-very-long-name-for-this-cluster"
    served = issue_serving_certificate(ca, service="meshgate-webhook", namespace=namespace, now=now)
    leaf = x509.load_pem_x509_certificate(served.cert_pem.encode())
    (cn,) = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert len(str(cn.value)) <= 64
    verifier = (
        PolicyBuilder()
        .store(Store([ca.cert]))
        .time(now)
        .build_server_verifier(DNSName(f"meshgate-webhook.{namespace}.svc"))
    )
    verifier.verify(leaf, [])

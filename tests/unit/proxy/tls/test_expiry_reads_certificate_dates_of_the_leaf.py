"""`expiry.py` reads a certificate's dates, the leaf's in a chain file, and says clearly when
the bytes are not a certificate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st
from tls_harness import Mesh, forge

from meshproxy.tls.expiry import (
    CertificateParseError,
    file_validity,
    seconds_until_expiry,
    validity,
)


def _der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [
        # UTCTime on both sides, GeneralizedTime from 2050 on, and the 1950/2049 pivot.
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC)),
        (datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2050, 1, 1, tzinfo=UTC)),
        (datetime(1950, 1, 1, tzinfo=UTC), datetime(2100, 2, 28, 12, tzinfo=UTC)),
    ],
)
def test_dates_match_cryptography_for_both_time_encodings(
    mesh: Mesh, not_before: datetime, not_after: datetime
) -> None:
    cert_pem, _ = forge(mesh.ca, not_before=not_before, not_after=not_after)
    assert validity(_der(cert_pem)) == (not_before, not_after)


def test_a_workload_certificate_file_reports_seconds_until_expiry(
    mesh: Mesh, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    issued = mesh.issue(now=now, validity=timedelta(hours=24))
    path = tmp_path / "tls.crt"
    path.write_text(issued.cert_pem + mesh.bundle.to_pem())  # a chain file: the leaf counts
    assert file_validity(path)[1] == issued.not_after
    assert seconds_until_expiry(path, now) == pytest.approx(24 * 3600)
    assert seconds_until_expiry(path, now + timedelta(days=2)) == pytest.approx(-24 * 3600)


def test_a_ca_certificate_with_a_version_field_parses(mesh: Mesh) -> None:
    der = mesh.ca.cert.public_bytes(serialization.Encoding.DER)
    assert validity(der) == (mesh.ca.cert.not_valid_before_utc, mesh.ca.cert.not_valid_after_utc)


def test_every_truncation_raises_the_parse_error(mesh: Mesh) -> None:
    der = _der(mesh.issue().cert_pem)
    for end in range(len(der)):
        with pytest.raises(CertificateParseError):
            validity(der[:end])


def test_a_pem_file_that_does_not_parse_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.crt"
    path.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertificateParseError, match="does not parse"):
        file_validity(path)


def test_trailing_bytes_and_indefinite_lengths_are_refused(mesh: Mesh) -> None:
    der = _der(mesh.issue().cert_pem)
    with pytest.raises(CertificateParseError):
        validity(der + b"\x00")
    with pytest.raises(CertificateParseError):
        validity(b"\x30\x80" + der[4:])


def test_a_file_without_a_certificate_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.crt"
    path.write_text("nothing here\n")
    with pytest.raises(CertificateParseError, match="no PEM certificate"):
        file_validity(path)


_SEED_DER: list[bytes] = []


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_corrupted_certificates_raise_only_the_parse_error(mesh: Mesh, data: st.DataObject) -> None:
    if not _SEED_DER:
        _SEED_DER.append(_der(mesh.issue().cert_pem))
    der = bytearray(_SEED_DER[0])
    # Flip bytes in the header region the walker reads; later bytes it never looks at.
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, min(len(der) - 1, 200)))
        der[pos] = data.draw(st.integers(0, 255))
    try:
        not_before, not_after = validity(bytes(der))
    except CertificateParseError:
        return
    assert not_before.tzinfo is UTC
    assert not_after.tzinfo is UTC

"""A certificate file's validity period, read with a minimal DER walk and no crypto library.

The proxy exports `meshproxy_cert_expiry_seconds` from this. The standard library can load a
certificate into a context but offers no public way to read a leaf's dates. `cryptography` could,
but importing its X.509 module adds ~8.5 MiB to every sidecar's resident memory (measured with
bench/proxy/footprint.py), and a sidecar runs beside every workload; so this walks exactly the
path RFC 5280 fixes, strict DER only:
Certificate ─▶ tbsCertificate ─▶ [version] serial signature issuer validity{notBefore, notAfter}.
The unit tests hold its dates equal to cryptography's and feed it corrupted certificates.

This module must never trust what it parses for security decisions: OpenSSL verifies
certificates; these dates only feed metrics and logs.
"""

from __future__ import annotations

import re
import ssl
from datetime import UTC, datetime
from pathlib import Path

_SEQUENCE = 0x30
_INTEGER = 0x02
_VERSION = 0xA0  # [0] EXPLICIT, constructed
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+.*?-----END CERTIFICATE-----", re.DOTALL)


class CertificateParseError(ValueError):
    """The bytes are not a DER certificate of the shape RFC 5280 prescribes."""


def validity(der: bytes) -> tuple[datetime, datetime]:
    """(notBefore, notAfter) of a DER certificate, as aware UTC datetimes."""
    tag, start, end = _tlv(der, 0)
    _expect(tag, _SEQUENCE, "Certificate")
    if end != len(der):
        raise CertificateParseError("trailing bytes after the certificate")
    tag, pos, tbs_end = _tlv(der, start)
    _expect(tag, _SEQUENCE, "tbsCertificate")
    tag, _, after = _tlv(der, pos, tbs_end)
    if tag == _VERSION:
        pos = after
        tag, _, after = _tlv(der, pos, tbs_end)
    _expect(tag, _INTEGER, "serialNumber")
    for what in ("signature", "issuer"):
        tag, _, after = _tlv(der, after, tbs_end)
        _expect(tag, _SEQUENCE, what)
    tag, pos, validity_end = _tlv(der, after, tbs_end)
    _expect(tag, _SEQUENCE, "validity")
    not_before, pos = _time(der, pos, validity_end)
    not_after, pos = _time(der, pos, validity_end)
    if pos != validity_end:
        raise CertificateParseError("validity holds more than two times")
    return not_before, not_after


def file_validity(path: str | Path) -> tuple[datetime, datetime]:
    """Validity of the first certificate in a PEM file (the leaf, in a chain file)."""
    text = Path(path).read_text(encoding="ascii", errors="replace")
    found = _PEM_CERT.search(text)
    if found is None:
        raise CertificateParseError(f"{path}: no PEM certificate")
    try:
        return validity(ssl.PEM_cert_to_DER_cert(found.group(0)))
    except ValueError as exc:  # bad base64, or CertificateParseError saying where the DER breaks
        raise CertificateParseError(f"{path}: the PEM certificate does not parse: {exc}") from None


def seconds_until_expiry(path: str | Path, now: datetime) -> float:
    """Seconds from `now` to the certificate's notAfter; negative once it has expired."""
    return (file_validity(path)[1] - now).total_seconds()


def _tlv(der: bytes, pos: int, limit: int | None = None) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at `pos`, kept inside `limit`."""
    limit = len(der) if limit is None else limit
    if pos + 2 > limit:
        raise CertificateParseError("truncated element")
    tag, first = der[pos], der[pos + 1]
    if tag & 0x1F == 0x1F:
        raise CertificateParseError("multi-byte tags do not occur in a certificate's path here")
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        # 0x80 is BER's indefinite length, which DER forbids; four octets cover 4 GiB.
        if count == 0 or count > 4 or pos + count > limit:
            raise CertificateParseError("bad length encoding")
        length = int.from_bytes(der[pos : pos + count], "big")
        if length < 0x80 or der[pos] == 0:
            raise CertificateParseError("non-minimal length encoding (not DER)")
        pos += count
    if pos + length > limit:
        raise CertificateParseError("element runs past its container")
    return tag, pos, pos + length


def _time(der: bytes, pos: int, limit: int) -> tuple[datetime, int]:
    tag, start, end = _tlv(der, pos, limit)
    try:
        text = der[start:end].decode("ascii")
    except UnicodeDecodeError:
        raise CertificateParseError("time is not ASCII") from None
    # RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ until 2049, GeneralizedTime YYYYMMDDHHMMSSZ after.
    if tag == _UTC_TIME and re.fullmatch(r"\d{12}Z", text):
        yy = int(text[:2])
        text = ("19" if yy >= 50 else "20") + text
    elif not (tag == _GENERALIZED_TIME and re.fullmatch(r"\d{14}Z", text)):
        raise CertificateParseError(f"unsupported time encoding {text!r}")
    try:
        # The digits are checked above; `datetime` refuses what no calendar has (month 13, second
        # 60). Not `strptime`: its `_strptime` module and calendar hold 0.3 MiB of every sidecar.
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
        hour, minute, second = int(text[8:10]), int(text[10:12]), int(text[12:14])
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise CertificateParseError(f"impossible time {text!r}") from None
    return when, end


def _expect(tag: int, want: int, what: str) -> None:
    if tag != want:
        raise CertificateParseError(f"{what}: expected tag 0x{want:02x}, found 0x{tag:02x}")

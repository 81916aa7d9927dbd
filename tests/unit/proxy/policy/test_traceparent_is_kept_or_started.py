"""ensure_traceparent and new_request_id: W3C Trace Context kept, repaired or started."""

from __future__ import annotations

import uuid
from itertools import count

import pytest

from meshproxy.policy.tracing import (
    ensure_traceparent,
    new_request_id,
    request_id_from_hex,
    traceparent_from_hex,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def counting_bytes() -> object:
    counter = count(1)

    def rand_bytes(n: int) -> bytes:
        return bytes([next(counter) % 256]) * n

    return rand_bytes


def fixed(n: int) -> bytes:
    return bytes(range(1, n + 1))


def test_valid_traceparent_keeps_trace_and_flags_with_a_new_span() -> None:
    forwarded, trace_id = ensure_traceparent(f"00-{TRACE}-{PARENT}-01", fixed)
    assert trace_id == TRACE
    assert forwarded == f"00-{TRACE}-0102030405060708-01"


def test_future_version_is_read_by_its_prefix_and_forwarded_as_00() -> None:
    forwarded, trace_id = ensure_traceparent(f"cc-{TRACE}-{PARENT}-03-extra", fixed)
    assert trace_id == TRACE
    assert forwarded == f"00-{TRACE}-0102030405060708-01"


@pytest.mark.parametrize(
    "incoming",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE.upper()}-{PARENT}-01",
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{PARENT}-01",
        f"00-{TRACE}-{PARENT}-01-extra",
        f"cc-{TRACE}-{PARENT}-01extra",
        f"00-{TRACE[:-1]}-{PARENT}-01",
        f"00_{TRACE}-{PARENT}-01",
    ],
)
def test_invalid_or_absent_traceparent_starts_a_new_trace(incoming: str | None) -> None:
    forwarded, trace_id = ensure_traceparent(incoming, fixed)
    assert trace_id == fixed(16).hex()
    assert trace_id != TRACE
    assert forwarded == f"00-{trace_id}-{fixed(8).hex()}-00"


def test_all_zero_random_bytes_still_give_valid_ids() -> None:
    forwarded, trace_id = ensure_traceparent(None, lambda n: bytes(n))
    assert trace_id != "0" * 32
    assert forwarded.split("-")[2] != "0" * 16


def test_request_id_is_a_version_4_uuid_from_the_given_bytes() -> None:
    value = new_request_id(lambda n: b"\xff" * n)
    parsed = uuid.UUID(value)
    assert parsed.version == 4
    assert str(parsed) == value
    assert new_request_id(fixed) != new_request_id(lambda n: b"\x00" * n)


def test_request_id_from_hex_is_the_version_4_uuid_of_those_bits() -> None:
    for raw in (bytes(16), b"\xff" * 16, bytes(range(16)), bytes(range(200, 216))):
        assert request_id_from_hex(raw.hex()) == str(uuid.UUID(bytes=raw, version=4))
        assert request_id_from_hex(raw.hex()) == new_request_id(lambda n, raw=raw: raw[:n])


def test_traceparent_from_hex_keeps_a_valid_trace_and_starts_one_otherwise() -> None:
    span, trace = "0102030405060708", "ab" * 16
    assert traceparent_from_hex(f"00-{TRACE}-{PARENT}-01", span, trace) == (
        f"00-{TRACE}-{span}-01",
        TRACE,
    )
    assert traceparent_from_hex("garbage", span, trace) == (f"00-{trace}-{span}-00", trace)
    forwarded, trace_id = traceparent_from_hex(None, "0" * 16, "0" * 32)
    assert trace_id != "0" * 32
    assert forwarded.split("-")[2] != "0" * 16

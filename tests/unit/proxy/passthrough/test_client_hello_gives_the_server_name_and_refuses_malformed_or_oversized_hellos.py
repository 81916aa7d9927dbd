"""`passthrough.clienthello.read_hello` on real ClientHellos (made by OpenSSL through the ssl
module) and on truncated, corrupted and oversized ones."""

from __future__ import annotations

import ssl

import pytest

from meshproxy.passthrough.clienthello import Hello, MalformedHello, read_hello

LIMIT = 16384


def client_hello(server_name: str | None, tls13_only: bool = False) -> bytes:
    """The first flight of a real TLS client."""
    context = ssl.create_default_context()
    if tls13_only:
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    if server_name is None:
        context.check_hostname = False
    outgoing = ssl.MemoryBIO()
    tls = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def as_records(hello: bytes, size: int) -> bytes:
    """The same handshake message cut into handshake records of `size` bytes."""
    body = hello[5:]
    out = b""
    for start in range(0, len(body), size):
        fragment = body[start : start + size]
        out += b"\x16\x03\x01" + len(fragment).to_bytes(2, "big") + fragment
    return out


@pytest.mark.parametrize("name", ["db.example.com", "a.b.c.example.org", "x"])
def test_a_real_hello_gives_its_server_name(name: str) -> None:
    assert read_hello(client_hello(name), LIMIT) == Hello(name)


def test_a_tls13_only_hello_gives_its_server_name() -> None:
    assert read_hello(client_hello("db.example.com", tls13_only=True), LIMIT) == Hello(
        "db.example.com"
    )


def test_a_hello_without_server_name_gives_none() -> None:
    assert read_hello(client_hello(None), LIMIT) == Hello(None)


def test_every_prefix_of_a_hello_asks_for_more_bytes_up_to_its_record_end() -> None:
    hello = client_hello("db.example.com")
    for cut in range(len(hello)):
        wanted = read_hello(hello[:cut], LIMIT)
        assert isinstance(wanted, int), cut
        assert cut < wanted <= len(hello), cut
    assert read_hello(hello[:5], LIMIT) == len(hello)  # one record: its end is known at once


def test_a_hello_split_over_records_is_joined() -> None:
    hello = client_hello("split.example.com")
    size = len(hello) // 6 + 1
    records = as_records(hello, size)
    assert read_hello(records, LIMIT) == Hello("split.example.com")
    assert read_hello(records[:-1], LIMIT) == len(records)


def test_upper_case_and_a_trailing_dot_are_normalised() -> None:
    hello = client_hello("db.example.com")
    at = hello.index(b"db.example.com")
    upper = hello[:at] + b"DB.Example.COM" + hello[at + 14 :]
    assert read_hello(upper, LIMIT) == Hello("db.example.com")


@pytest.mark.parametrize(
    ("first_bytes", "reason"),
    [
        (b"GET / HTTP/1.1\r\n", "not_tls"),
        (b"\x80\x2e\x01\x00\x02", "not_tls"),  # an SSLv2-style hello
        (b"\x16\x02\x00", "not_tls"),  # record version not 3.x
        (b"\x16\x03\x01\x00\x00", "malformed"),  # an empty record
        (b"\x16\x03\x01\x48\x01", "malformed"),  # a record over 2^14 bytes
        (b"\x16\x03\x01\x00\x04\x02\x00\x00\x00", "malformed"),  # a ServerHello
    ],
)
def test_bytes_that_cannot_open_a_client_hello_are_refused(first_bytes: bytes, reason: str) -> None:
    with pytest.raises(MalformedHello) as refused:
        read_hello(first_bytes, LIMIT)
    assert refused.value.reason == reason


def test_a_record_of_another_type_inside_the_hello_is_refused() -> None:
    hello = client_hello("db.example.com")
    size = len(hello) // 4
    records = as_records(hello, size)
    corrupt = records[: size + 5] + b"\x17" + records[size + 6 :]  # the second record's type
    with pytest.raises(MalformedHello, match="not handshake"):
        read_hello(corrupt, LIMIT)


def test_lengths_that_run_past_the_message_are_refused() -> None:
    hello = bytearray(client_hello("db.example.com"))
    hello[5 + 4 + 34] = 200  # session id length beyond anything that follows it... and 32
    with pytest.raises(MalformedHello):
        read_hello(bytes(hello), LIMIT)
    hello = bytearray(client_hello("db.example.com"))
    at = hello.index(b"db.example.com")
    hello[at - 2 : at] = (300).to_bytes(2, "big")  # the host name's length
    with pytest.raises(MalformedHello):
        read_hello(bytes(hello), LIMIT)


def test_a_server_name_that_is_not_a_host_name_is_refused() -> None:
    hello = client_hello("db.example.com")
    at = hello.index(b"db.example.com")
    bad = hello[:at] + b"db/example.com" + hello[at + 14 :]
    with pytest.raises(MalformedHello, match="not a host name"):
        read_hello(bad, LIMIT)


def test_a_duplicated_extension_is_refused() -> None:
    hello = client_hello("db.example.com")
    at = hello.index(b"db.example.com")
    # server_name extension: type(2) len(2) list-len(2) kind(1) name-len(2) name
    start = at - 9
    extension = hello[start : at + 14]
    assert extension[:2] == b"\x00\x00"
    doubled = bytearray(hello[:start] + extension + extension + hello[at + 14 :])
    grow = len(extension)
    for offset, size in ((3, 2), (6, 3)):  # record length, handshake length
        value = int.from_bytes(doubled[offset : offset + size], "big") + grow
        doubled[offset : offset + size] = value.to_bytes(size, "big")
    ext_len_at = 5 + 4 + 2 + 32
    ext_len_at += 1 + doubled[ext_len_at]  # session id
    ext_len_at += 2 + int.from_bytes(doubled[ext_len_at : ext_len_at + 2], "big")  # suites
    ext_len_at += 1 + doubled[ext_len_at]  # compression
    value = int.from_bytes(doubled[ext_len_at : ext_len_at + 2], "big") + grow
    doubled[ext_len_at : ext_len_at + 2] = value.to_bytes(2, "big")
    with pytest.raises(MalformedHello, match="twice"):
        read_hello(bytes(doubled), LIMIT)


def test_a_hello_larger_than_the_limit_is_refused_before_it_is_whole() -> None:
    hello = client_hello("db.example.com")
    assert read_hello(hello, len(hello)) == Hello("db.example.com")
    with pytest.raises(MalformedHello) as refused:
        read_hello(hello[:10], len(hello) - 1)  # its header already says it will not fit
    assert refused.value.reason == "oversized"


def test_a_hello_in_many_tiny_records_is_refused() -> None:
    records = as_records(client_hello("db.example.com"), 7)
    with pytest.raises(MalformedHello, match="records") as refused:
        read_hello(records, LIMIT)
    assert refused.value.reason == "malformed"

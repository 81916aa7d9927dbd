"""fetch_jwks reads a key set over loopback HTTP(S) with the upstream client, within its size
and time bounds, refusing redirects, errors and untrusted certificates; JwksRefresher fetches
ahead of requests."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from meshproxy.authn.jwks_fetch import JwksFetchError, JwksRefresher, fetch_jwks
from meshproxy.policy.jwks import JwkSet, parse_jwks


def _jwks() -> bytes:
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": x}]}).encode()


JWKS = _jwks()
Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def serve(reply: Reply, tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await reply(writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    return server, server.sockets[0].getsockname()[1]


def fixed(data: bytes) -> Reply:
    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(data)

    return reply


def ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


@pytest.fixture
async def http() -> AsyncIterator[Callable[[Reply], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(reply: Reply) -> str:
        server, port = await serve(reply)
        servers.append(server)
        return f"http://127.0.0.1:{port}/.well-known/jwks.json"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_content_length_body_is_parsed_into_keys(http: Callable[..., Awaitable[str]]) -> None:
    keys = await fetch_jwks(await http(fixed(ok(JWKS))))
    assert keys.find("k1") is not None


async def test_chunked_and_close_delimited_bodies_are_read(
    http: Callable[..., Awaitable[str]],
) -> None:
    half = len(JWKS) // 2
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    chunked += b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\n\r\n" % (
        half,
        JWKS[:half],
        len(JWKS) - half,
        JWKS[half:],
    )
    assert (await fetch_jwks(await http(fixed(chunked)))).find("k1") is not None
    unframed = b"HTTP/1.0 200 OK\r\n\r\n" + JWKS
    assert (await fetch_jwks(await http(fixed(unframed)))).find("k1") is not None


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", "HTTP status 404"),
        (b"HTTP/1.1 302 Found\r\nlocation: http://evil.test/\r\ncontent-length: 0\r\n\r\n", "302"),
        (ok(b"<html>"), "bad key set"),
        (ok(b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'), "symmetric"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 999999999\r\n\r\n", "larger than"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{}", "ended early"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", "malformed"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not HTTP"),
    ],
)
async def test_bad_responses_are_refused_with_a_reason(
    http: Callable[..., Awaitable[str]], response: bytes, message: str
) -> None:
    with pytest.raises(JwksFetchError, match=message):
        await fetch_jwks(await http(fixed(response)))


async def test_oversized_unframed_and_chunked_bodies_are_cut_off(
    http: Callable[..., Awaitable[str]],
) -> None:
    big = b"x" * 5000
    with pytest.raises(JwksFetchError, match="larger than"):
        await fetch_jwks(await http(fixed(b"HTTP/1.0 200 OK\r\n\r\n" + big)), max_bytes=4096)
    chunk = b"800\r\n" + b"x" * 0x800 + b"\r\n"
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk * 3
    with pytest.raises(JwksFetchError, match="larger than"):
        await fetch_jwks(await http(fixed(chunked)), max_bytes=4096)


async def test_a_server_that_never_answers_is_given_up_on_at_the_deadline(
    http: Callable[..., Awaitable[str]],
) -> None:
    async def hang(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    url = await http(hang)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(JwksFetchError, match="no answer"):
        await fetch_jwks(url, deadline=0.3)
    assert loop.time() - started < 5


@pytest.mark.parametrize("uri", ["ftp://x/jwks", "https://user:pw@id.test/jwks", "http://", "x"])
async def test_uris_other_than_plain_http_or_https_are_refused(uri: str) -> None:
    with pytest.raises(JwksFetchError):
        await fetch_jwks(uri)


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_verifies_the_server_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server, port = await serve(fixed(ok(JWKS)), tls)
    try:
        url = f"https://127.0.0.1:{port}/jwks"
        with pytest.raises(JwksFetchError, match="connection failed"):
            await fetch_jwks(url)  # system trust store: this CA is unknown
        trusting = ssl.create_default_context(cafile=str(cert))
        assert (await fetch_jwks(url, ssl_context=trusting)).find("k1") is not None
    finally:
        server.close()
        await server.wait_closed()


async def test_refresher_fetches_at_start_and_again_for_an_unknown_kid() -> None:
    fetched: list[str] = []
    keys = parse_jwks(JWKS)

    async def fetch(uri: str) -> JwkSet:
        fetched.append(uri)
        return keys

    refresher = JwksRefresher("https://id.test/jwks", 300, min_refetch_seconds=0.1, fetch=fetch)
    assert refresher.keys() is None
    refresher.start()
    try:
        assert await refresher.wait_ready(5)
        assert refresher.keys() is keys
        assert len(fetched) == 1
        await asyncio.sleep(0.15)
        refresher.unknown_kid()
        refresher.unknown_kid()  # the second is inside the interval: no extra fetch
        for _ in range(100):  # bounded: 1 s
            if len(fetched) >= 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert len(fetched) == 2
    finally:
        await refresher.stop()


async def test_refresher_keeps_the_last_keys_when_a_refetch_fails() -> None:
    keys = parse_jwks(JWKS)
    answers: list[JwkSet | JwksFetchError] = [keys, JwksFetchError("HTTP status 503")]
    errors: list[str] = []

    async def fetch(uri: str) -> JwkSet:
        answer = answers.pop(0) if answers else JwksFetchError("still down")
        if isinstance(answer, JwksFetchError):
            raise answer
        return answer

    refresher = JwksRefresher(
        "https://id.test/jwks", 300, min_refetch_seconds=0.0, fetch=fetch, on_error=errors.append
    )
    refresher.start()
    try:
        assert await refresher.wait_ready(5)
        refresher.unknown_kid()
        for _ in range(100):
            if errors:
                break
            await asyncio.sleep(0.01)
        assert errors == ["HTTP status 503"]
        assert refresher.keys() is keys
        assert refresher.cache.last_error == "HTTP status 503"
    finally:
        await refresher.stop()

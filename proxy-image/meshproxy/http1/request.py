"""HTTP/1 requests: the checks of a client's request head, and the head sent upstream.

A head that any check refuses gets a status (400, 405, 413, 421) and is never handed to the
layers. The upstream head is built with one join and checked whole (`safe_head`) before it can
reach a socket.
"""

from __future__ import annotations

import re

from meshproxy.http.heads import (
    HOP_BY_HOP,
    PLAIN_CONNECTION,
    PROXY_OWNED,
    connection_tokens,
    safe_head,
)
from meshproxy.http.message import Exchange
from meshproxy.policy.paths import normalize_path

# Headers whose values decide framing or routing: only plain ASCII is accepted in them, so a
# byte a lenient server might trim as whitespace (e.g. \xa0) cannot change their meaning.
_STRICT_ASCII = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "expect"}
)
# RFC 9112 §3.2: Host is `uri-host [":" port]`; anything else ("a/b", "u@a", "a b") is a 400, so
# routing, redirects and the upstream never see a Host that parses differently elsewhere.
_VALID_HOST = re.compile(r"(?:\[[0-9a-f:.]+\]|[a-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?")

# Request headers never copied upstream as they are: hop-by-hop, the ones set here, and the
# ones only a proxy may set (a client's copy of the peer identity must never reach an app).
_SKIP = HOP_BY_HOP | PROXY_OWNED | {"host", "x-forwarded-for", "x-forwarded-proto", "expect"}

HeadFields = tuple[str, str, str, "int | None", bool]
"""A checked request head: (host, normalised path, query, Content-Length, chunked)."""


def valid_host(value: str) -> bool:
    """Whether a lower-cased Host value (or CONNECT authority) is `uri-host [":" port]`."""
    return _VALID_HOST.fullmatch(value) is not None


def read_field(name: bytes, value: bytes) -> tuple[str, str] | None:
    """A request header field as (lower-case name, latin-1 value); None when it is refused."""
    if value and value[-1] in _OWS:
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace; OWS is not the value
    key = name.decode("latin-1").lower()
    text = value.decode("latin-1")
    if key in _STRICT_ASCII:
        if not value.isascii():
            return None
        if key == "host" and not _host_ok(text):
            return None
    return key, text


_OWS = (0x20, 0x09)  # SP, HTAB
# Host values already judged, so the pattern runs once per distinct Host, not per request.
# Bounded: past `_HOSTS_MAX` distinct values it starts over.
_HOSTS_MAX = 1024
_hosts: dict[str, bool] = {}


def _host_ok(text: str) -> bool:
    ok = _hosts.get(text)
    if ok is None:
        ok = _VALID_HOST.fullmatch(text.lower()) is not None
        if len(_hosts) >= _HOSTS_MAX:
            _hosts.clear()
        _hosts[text] = ok
    return ok


def check_head(
    method: str,
    version: str,
    target: str,
    host: str | None,
    headers: list[tuple[str, str]],
    sni: str | None,
    max_body: int,
) -> HeadFields | int:
    """The head's fields, or the status that refuses it. `host`: the Host header, if any."""
    if host is None:
        if version != "1.0":
            return 400
        host = ""
    if target[:1] != "/":
        if method == "CONNECT":
            return 405
        lowered = target[:8].lower()
        if lowered.startswith("http://") or lowered.startswith("https://"):
            rest = target[target.index("//") + 2 :]
            slash = rest.find("/")
            authority = (rest if slash < 0 else rest[:slash]).lower()
            target = "/" if slash < 0 else rest[slash:]
            if "@" in authority or _VALID_HOST.fullmatch(authority) is None or not authority:
                return 400
            # RFC 9112 §3.2.2: a request in absolute form is routed by its authority and Host is
            # ignored; upstream, Host is the authority, so no backend sees the two disagree.
            host = authority
        else:
            return 400
    normal = normalize_path(target)
    if normal is None:
        return 400
    if sni is not None and host and host.rsplit(":", 1)[0] != sni:
        return 421
    length: int | None = None
    chunked = False
    for key, value in headers:
        if key == "content-length":
            # llhttp accepted only digits; check again, since int() also takes "+5" and "5_0".
            if not (value.isascii() and value.isdigit()):
                return 400
            length = int(value)
        elif key == "transfer-encoding":
            chunked = True
    if length is not None and length > max_body:
        return 413
    return host, normal[0], normal[1], length, chunked


def upstream_head(exchange: Exchange, extra: str, set_proto: bool) -> bytes | None:
    """The upstream request head, built with one join; None when a header value would carry
    CR, LF or NUL onto the wire. `extra`: whole header lines the cluster adds (a mesh peer's
    target port); `exchange.extra_head` those a layer added. `set_proto`: this proxy is the
    edge, so `x-forwarded-proto` is its own scheme whatever the client said."""
    request = exchange.request
    query = request.query
    target = f"{request.path}?{query}" if query else request.path
    parts = [f"{request.method} {target} HTTP/1.1\r\nhost: {request.host}\r\n"]
    skip = _SKIP
    forwarded_for = ""
    proto = ""
    for name, value in request.headers:
        if name in skip:
            if name == "x-forwarded-for":
                forwarded_for = value
            elif name == "x-forwarded-proto":
                proto = value
            elif name == "connection" and value not in PLAIN_CONNECTION:
                skip = skip | connection_tokens(value)
            continue
        parts.append(f"{name}: {value}\r\n")
    if skip is not _SKIP:  # a Connection header named more hop-by-hop headers: drop them
        parts = [parts[0]] + [p for p in parts[1:] if p[: p.index(":")] not in skip]
    client_ip = exchange.client_ip
    parts.append(
        f"x-forwarded-for: {forwarded_for}, {client_ip}\r\n"
        if forwarded_for
        else f"x-forwarded-for: {client_ip}\r\n"
    )
    if set_proto or not proto:
        proto = exchange.scheme
    parts.append(f"x-forwarded-proto: {proto}\r\n")
    body = request.body
    if body is not None:
        if body.complete:
            parts.append(f"content-length: {len(body.buffered())}\r\n")
        elif body.length is not None:
            parts.append(f"content-length: {body.length}\r\n")
        else:
            parts.append("transfer-encoding: chunked\r\n")
    elif request.method in ("POST", "PUT", "PATCH"):
        parts.append("content-length: 0\r\n")
    if request.upgrade is not None:
        parts.append(f"connection: upgrade\r\nupgrade: {request.upgrade}\r\n")
    if extra:
        parts.append(extra)
    if exchange.extra_head:
        parts.append(exchange.extra_head)
    parts.append("\r\n")
    text = "".join(parts)
    if not safe_head(text, len(parts) + 1 + (1 if request.upgrade is not None else 0)):
        return None
    return text.encode("latin-1")

"""Path authorization through a running meshproxy: each class of spelling that some common
backend reads as `/admin` is refused by a DENY on `/admin`, `/admin/*`, and each way out of
`/public/` is refused by an ALLOW on `/public`, `/public/*`; paths no backend reads that way
still pass. Every case is sent as raw bytes and the backend's log says what got through."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from meshproxy_e2e import Backends, Behaviour, cluster, forward, free_port, running

pytestmark = pytest.mark.e2e

DENY, REFUSED, SERVED = 403, 400, 200

# (class, request-target, status) against a DENY on /admin and /admin/*.
DENY_ADMIN_CASES: list[tuple[str, str, int]] = [
    # RFC 3986 dot segments and unreserved escapes: the canonical path itself is /admin
    ("rfc", "/admin", DENY),
    ("rfc", "/admin/", DENY),
    ("rfc", "/admin/users", DENY),
    ("rfc", "//admin", DENY),
    ("rfc", "/./admin", DENY),
    ("rfc", "/x/../admin", DENY),
    ("rfc", "/x/%2e%2e/admin", DENY),
    ("rfc", "/x/.%2E/admin/users", DENY),
    ("rfc", "/%61dmin", DENY),
    ("rfc", "/%61%64%6d%69%6e/x", DENY),
    ("rfc", "/x/y/../../admin", DENY),
    ("rfc", "/../admin", DENY),
    # encoded slashes
    ("encoded slash", "/x/..%2Fadmin", DENY),
    ("encoded slash", "/x/..%2fadmin", DENY),
    ("encoded slash", "/%2Fadmin", DENY),
    ("encoded slash", "/%2fadmin/users", DENY),
    ("encoded slash", "/admin%2Fusers", DENY),
    ("encoded slash", "/admin%2f", DENY),
    ("encoded slash", "/x%2F..%2Fadmin", DENY),
    ("encoded slash", "/api%2F..%2F..%2Fadmin", DENY),
    ("encoded slash", "/static/..%2F..%2Fadmin/panel", DENY),
    ("encoded slash", "/%2F%2Fadmin", DENY),
    ("encoded slash", "/x/.%2E%2Fadmin", DENY),
    ("encoded slash", "/x/%2E%2E%2Fadmin", DENY),
    # backslashes, raw and encoded
    ("backslash", "/x/..\\admin", DENY),
    ("backslash", "/\\admin", DENY),
    ("backslash", "/x\\..\\admin", DENY),
    ("backslash", "/admin\\users", DENY),
    ("backslash", "/admin\\", DENY),
    ("backslash", "/x/..%5Cadmin", DENY),
    ("backslash", "/x/..%5cadmin", DENY),
    ("backslash", "/%5Cadmin", DENY),
    ("backslash", "/admin%5Cusers", DENY),
    ("backslash", "/x%5C..%5Cadmin", DENY),
    ("backslash", "/x/..\\..\\admin\\panel", DENY),
    # double and deeper encoding
    ("double encoding", "/x/%252e%252e/admin", DENY),
    ("double encoding", "/x/%252E%252E/admin", DENY),
    ("double encoding", "/x/..%252Fadmin", DENY),
    ("double encoding", "/x/..%252fadmin", DENY),
    ("double encoding", "/%2561dmin", DENY),
    ("double encoding", "/%2561%2564%256d%2569%256e", DENY),
    ("double encoding", "/x/%252E%252E%252Fadmin", DENY),
    ("double encoding", "/admin%252Fusers", DENY),
    ("double encoding", "/%25%32%46admin", DENY),
    ("double encoding", "/x/..%255Cadmin", DENY),
    ("double encoding", "/x/..%25252Fadmin", DENY),
    ("double encoding", "/x/%25252e%25252e/admin", DENY),
    ("double encoding", "/%252Fadmin", DENY),
    # path parameters
    ("path parameter", "/admin;jsessionid=1", DENY),
    ("path parameter", "/admin;", DENY),
    ("path parameter", "/admin;/users", DENY),
    ("path parameter", "/admin;x=1/users", DENY),
    ("path parameter", "/x/..;/admin", DENY),
    ("path parameter", "/x/..;a=b/admin", DENY),
    ("path parameter", "/;/admin", DENY),
    ("path parameter", "/;x=1/admin/users", DENY),
    ("path parameter", "/admin;.css", DENY),
    ("path parameter", "/admin%3Bx", DENY),
    ("path parameter", "/admin%3bx/users", DENY),
    ("path parameter", "/x/..%3B/admin", DENY),
    ("path parameter", "/x/..%253B/admin", DENY),
    # encoded whitespace around a segment, trailing dots
    ("whitespace", "/admin%20", DENY),
    ("whitespace", "/admin%20/", DENY),
    ("whitespace", "/admin%20/users", DENY),
    ("whitespace", "/%20admin", DENY),
    ("whitespace", "/admin%20%20", DENY),
    ("whitespace", "/admin%2509", DENY),
    ("whitespace", "/admin%250A", DENY),
    ("whitespace", "/admin%250d", DENY),
    ("whitespace", "/admin%2520", DENY),
    ("whitespace", "/admin%2520/users", DENY),
    ("whitespace", "/x/..%20/admin", DENY),
    ("whitespace", "/admin.", DENY),
    ("whitespace", "/admin..", DENY),
    ("whitespace", "/admin./users", DENY),
    ("whitespace", "/admin%2E", DENY),
    ("whitespace", "/admin%20.", DENY),
    ("whitespace", "/admin.%20", DENY),
    ("whitespace", "/admin/%20", DENY),
    # case variants
    ("case", "/ADMIN", DENY),
    ("case", "/Admin", DENY),
    ("case", "/aDmIn/users", DENY),
    ("case", "/ADMIN/", DENY),
    ("case", "/%41DMIN", DENY),
    ("case", "/ADMIN%2Fusers", DENY),
    ("case", "/x/..%2FADMIN", DENY),
    ("case", "/X/..;/Admin", DENY),
    ("case", "/ADMIN%20", DENY),
    ("case", "/AdMiN.", DENY),
    # where a decoding backend's path ends: NUL, `?`, `#`
    ("truncation", "/admin%2500", DENY),
    ("truncation", "/admin%2500.jpg", DENY),
    ("truncation", "/admin%253F.css", DENY),
    ("truncation", "/admin%3F.css", DENY),
    ("truncation", "/admin%3f", DENY),
    ("truncation", "/admin%23", DENY),
    ("truncation", "/admin%2523x", DENY),
    ("truncation", "/admin/users%3Fx=1", DENY),
    # overlong UTF-8
    ("overlong utf-8", "/x/..%C0%AFadmin", DENY),
    ("overlong utf-8", "/x/..%c0%afadmin", DENY),
    ("overlong utf-8", "/x/%C0%AE%C0%AE/admin", DENY),
    ("overlong utf-8", "/x/..%C1%9Cadmin", DENY),
    ("overlong utf-8", "/x/..%25C0%25AFadmin", DENY),
    # classes combined
    ("combined", "/X/..;/ADMIN%20", DENY),
    ("combined", "/x/..%255C..%252FAdmin;a", DENY),
    ("combined", "/static\\..%2F..;/admin%2500", DENY),
    ("combined", "/%2561DMIN.;x", DENY),
    ("combined", "/x/%252e%252e\\admin%20/users", DENY),
    ("combined", "//x//..//..%2F%2Fadmin", DENY),
    # refused before any rule: bytes no path may carry, raw or escaped once
    ("control byte", "/admin%00", REFUSED),
    ("control byte", "/admin%0a", REFUSED),
    ("control byte", "/admin%0d%0a", REFUSED),
    ("control byte", "/admin%09", REFUSED),
    ("control byte", "/admin%1f", REFUSED),
    ("control byte", "/admin%7F", REFUSED),
    ("control byte", "/admin\t", REFUSED),
    ("malformed escape", "/admin%", REFUSED),
    ("malformed escape", "/admin%2", REFUSED),
    ("malformed escape", "/admin%zz", REFUSED),
    ("malformed escape", "/admin%u002f", REFUSED),
    ("fragment", "/admin#x", REFUSED),
    # paths no common backend reads as /admin: served
    ("other path", "/", SERVED),
    ("other path", "/api/items", SERVED),
    ("other path", "/administrator", SERVED),
    ("other path", "/adminx", SERVED),
    ("other path", "/admins/list", SERVED),
    ("other path", "/api/admin", SERVED),
    ("other path", "/x/admin", SERVED),
    ("other path", "/admin.html", SERVED),
    ("other path", "/x/admin%2Fy", SERVED),
    ("other path", "/x/..%2Fadministrator", SERVED),
    ("other path", "/api;v=1/items", SERVED),
    ("other path", "/static/a%20b.css", SERVED),
    ("other path", "/files/%2Fetc", SERVED),
    ("other path", "/search%3Fq=admin", SERVED),
    ("other path", "/caf%C3%A9/admin", SERVED),
    ("other path", "/x/.admin", SERVED),
    ("other path", "/x/admin./y", SERVED),
    ("other path", "/ad%20min", SERVED),
    ("other path", "/ad;x/min", SERVED),
    ("other path", "/.well-known/admin", SERVED),
]

# (class, request-target, status) against an ALLOW on /public and /public/*.
ALLOW_PUBLIC_CASES: list[tuple[str, str, int]] = [
    ("inside", "/public", SERVED),
    ("inside", "/public/", SERVED),
    ("inside", "/public/index.html", SERVED),
    ("inside", "/public/a%20b.css", SERVED),
    ("inside", "/public/caf%C3%A9", SERVED),
    ("inside", "/public/x/../y", SERVED),
    ("inside", "/public/./y", SERVED),
    ("inside", "//public//y", SERVED),
    ("inside", "/x/../public/y", SERVED),
    ("inside", "/%70ublic/y", SERVED),
    ("outside", "/admin", DENY),
    ("outside", "/publicity", DENY),
    ("outside", "/public/../admin", DENY),
    ("encoded slash", "/public/..%2Fadmin", DENY),
    ("encoded slash", "/public/..%2fadmin", DENY),
    ("encoded slash", "/public%2F..%2F..%2Fadmin", DENY),
    ("encoded slash", "/public/x/..%2F..%2Fadmin", DENY),
    ("encoded slash", "/public/.%2E%2Fadmin", DENY),
    ("backslash", "/public/..\\admin", DENY),
    ("backslash", "/public\\..\\admin", DENY),
    ("backslash", "/public/..%5Cadmin", DENY),
    ("backslash", "/public/..%5cadmin", DENY),
    ("double encoding", "/public/%252e%252e/admin", DENY),
    ("double encoding", "/public/..%252Fadmin", DENY),
    ("double encoding", "/public/x/..%252F..%252Fadmin", DENY),
    ("double encoding", "/public/..%255Cadmin", DENY),
    ("double encoding", "/public/..%25252Fadmin", DENY),
    ("path parameter", "/public/..;/admin", DENY),
    ("path parameter", "/public/..;x=1/admin", DENY),
    ("path parameter", "/public;/../admin", DENY),
    ("path parameter", "/public/..%3B/admin", DENY),
    ("whitespace", "/public/..%20/admin", DENY),
    ("whitespace", "/public/%20../admin", DENY),
    ("whitespace", "/public/..%2520/admin", DENY),
    ("whitespace", "/public/..%20%20/admin", DENY),
    ("case", "/PUBLIC/x", DENY),
    ("case", "/Public", DENY),
    ("overlong utf-8", "/public/..%C0%AFadmin", DENY),
    ("overlong utf-8", "/public/%C0%AE%C0%AE/admin", DENY),
    ("truncation", "/public%2500/x", DENY),
    ("combined", "/public/..;\\..%252Fadmin", DENY),
]


def _status(port: int, target: str) -> int:
    raw = f"GET {target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw.encode("latin-1"))
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def _listener(name: str, port: int, policy: str) -> dict[str, Any]:
    return {
        "name": name,
        "address": "127.0.0.1",
        "port": port,
        "role": "edge",
        "authz": [policy],
        "virtualHosts": [{"name": "vh", "domains": ["*"], "routes": [forward("all", "app")]}],
    }


def _policy(name: str, action: str, paths: list[str]) -> dict[str, Any]:
    return {"name": name, "action": action, "rules": [{"to": [{"paths": paths}]}]}


def test_the_corpus_has_at_least_150_cases_in_every_class() -> None:
    cases = DENY_ADMIN_CASES + ALLOW_PUBLIC_CASES
    assert len(cases) >= 150
    assert len({target for _, target, _ in cases}) >= 150 - 10  # a few targets serve both
    classes = {c for c, _, _ in cases}
    for wanted in (
        "encoded slash",
        "backslash",
        "double encoding",
        "path parameter",
        "whitespace",
        "case",
    ):
        assert wanted in classes


def test_no_spelling_of_a_denied_path_reaches_the_backend(
    tmp_path: Path, backends: Backends
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    deny_port, allow_port = free_port(), free_port()
    cfg = {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway"},
        "listeners": [
            _listener("deny-admin", deny_port, "no-admin"),
            _listener("allow-public", allow_port, "only-public"),
        ],
        "clusters": [cluster("app", app_port)],
        "authz": [
            _policy("no-admin", "DENY", ["/admin", "/admin/*"]),
            _policy("only-public", "ALLOW", ["/public", "/public/*"]),
        ],
    }
    with running(tmp_path, cfg):
        wrong = []
        for port, cases in ((deny_port, DENY_ADMIN_CASES), (allow_port, ALLOW_PUBLIC_CASES)):
            for kind, target, expected in cases:
                before = len(app.seen)
                status = _status(port, target)
                reached = len(app.seen) > before
                if status != expected or reached != (expected == SERVED):
                    wrong.append((kind, target, expected, status, reached))
        assert not wrong, "\n".join(map(repr, wrong))

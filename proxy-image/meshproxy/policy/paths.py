"""Request-target normalisation: one canonical path, computed once, before routing and authz.

Routing, authorization and the upstream must all see the same path, or an encoded trick
(`/api/%2e%2e/admin`, `//admin`, `/api/./../admin`) slips past a DENY on `/admin` while the
backend still serves `/admin`. So the runtime normalises the target here and forwards the
result, never the raw target.

What is done, in order:
- only origin-form (`/...`) is accepted; a fragment, a control byte, a space, NUL (raw or as
  `%00`..`%1F`, `%7F`) or a malformed escape rejects the request (None → 400);
- escapes of unreserved characters (ALPHA DIGIT `-._~`) are decoded, all other escapes are kept
  with upper-case hex; `%2F` and `%5C` in particular stay encoded, so an encoded slash never
  becomes a segment boundary;
- printable ASCII that RFC 3986 does not allow in a path (`"<>\\^`{|}`) and bytes 0x80-0xFF are
  percent-encoded, so a raw backslash can never act as a separator downstream;
- empty segments are merged (`//a` → `/a`), then dot segments are removed (RFC 3986 §5.2.4).

The query is returned raw (without `?`); only control bytes and spaces in it are rejected.

Input contract: `target` is the request-target as the runtime decoded it from the wire with
latin-1, one character per byte; a character above U+00FF cannot come from the wire and rejects.

This module must never do I/O, log, or allocate on the fast path beyond the returned tuple.
"""

from __future__ import annotations

import re

__all__ = ["normalize_path", "remove_dot_segments"]

# A path made only of these characters, with no `%`, no `//` and no `/.`, is already canonical.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_UNSAFE_PATH = frozenset(range(0x20)) | {0x20, 0x23, 0x7F}  # controls, space, `#`
_UNSAFE_QUERY = frozenset(range(0x20)) | {0x20, 0x23, 0x7F}
_HEX = frozenset(b"0123456789abcdefABCDEF")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# pchar minus `%` plus `/`: kept as they are. Everything else printable gets percent-encoded.
_PATH_CHARS = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/")
_PLAIN_QUERY = re.compile(r"[\x21-\x22\x24-\x7e\x80-\xff]*")


def normalize_path(target: str) -> tuple[str, str] | None:
    """Return (canonical path, raw query) for an origin-form target, or None to answer 400."""
    qmark = target.find("?")
    if qmark < 0:
        path, query = target, ""
    else:
        path, query = target[:qmark], target[qmark + 1 :]
        if query and _PLAIN_QUERY.fullmatch(query) is None:
            return None
    if _PLAIN_PATH.fullmatch(path) is not None and "//" not in path and "/." not in path:
        return path, query
    if not path.startswith("/"):
        return None
    canonical = _canonical_chars(path)
    if canonical is None:
        return None
    return remove_dot_segments(canonical), query


def _canonical_chars(path: str) -> str | None:
    """Decode unreserved escapes, upper-case the others, encode what must not appear raw."""
    out: list[str] = []
    i = 0
    n = len(path)
    while i < n:
        c = ord(path[i])
        if c == 0x25:  # %
            if i + 2 >= n:
                return None
            h1, h2 = ord(path[i + 1]), ord(path[i + 2])
            if h1 not in _HEX or h2 not in _HEX:
                return None
            byte = int(path[i + 1 : i + 3], 16)
            if byte < 0x20 or byte == 0x7F:
                return None
            if byte in _UNRESERVED:
                out.append(chr(byte))
            else:
                out.append("%" + path[i + 1 : i + 3].upper())
            i += 3
            continue
        if c in _UNSAFE_PATH or c > 0xFF:
            return None
        if c in _PATH_CHARS:
            out.append(path[i])
        else:
            out.append(f"%{c:02X}")
        i += 1
    return "".join(out)


def remove_dot_segments(path: str) -> str:
    """Merge empty segments, then resolve `.` and `..` (RFC 3986 §5.2.4) on what remains.

    Merging first means `/a//../b` is `/b`, as a server that merges slashes reads it; a trailing
    slash, and the slash a final dot segment implies (`/a/b/..` → `/a/`), is kept.
    """
    segments = path.split("/")
    out: list[str] = []
    trailing = False
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if index == 0:
            continue  # the empty string before the leading slash
        if segment == "" or segment == ".":
            trailing = index == last
            continue
        if segment == "..":
            if out:
                out.pop()
            trailing = index == last
            continue
        out.append(segment)
        trailing = False
    if not out:
        return "/"
    return "/" + "/".join(out) + ("/" if trailing else "")

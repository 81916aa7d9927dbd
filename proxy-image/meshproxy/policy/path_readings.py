"""Every path a common backend could read a canonical path as, so authz cannot be walked around.

`paths.normalize_path` gives one canonical path and forwards it, but it keeps `%2F`, `%5C`,
`%25`, `;params` and a trailing `%20` as they are (decoding them would change what a strict
backend serves). Backends differ on exactly those: Tomcat and Jetty strip `;params` (and
read `/..;/` as `/../`), IIS and Windows servers take `\\` for `/` and drop trailing dots and
spaces, servers behind a second decoder read `%252F` as `/`, C code stops at a decoded NUL,
Spring's AntPathMatcher trims whitespace around segments, and many servers match case-insensitively.
Authorization therefore matches a rule against each reading here (see `authz.py`): the side of a
rule that would deny a request takes the widest reading, the side that would let it pass the
narrowest.

The readings of a canonical path, deduplicated, the path itself first. Each is written in the
canonical alphabet (unreserved characters raw, other escapes upper-case), so a rule that names
`/files/a%20b` or `/caf%C3%A9` meets every reading of that path in the same spelling:
- as forwarded: escapes opaque (a strict RFC 3986 backend);
- decoded once: `%2F` and `%5C` as `/`, `%3B` as `;`, `%25` as `%` (what a second decoder
  would get), dot segments resolved;
- parameters stripped: `;...` cut from every segment, dot segments resolved (Tomcat, Jetty);
- loosest: decoded as above until stable (at most `_MAX_DECODES` rounds), overlong UTF-8
  `/ . \\` taken for themselves, cut at `%00`, `%3F` or `%23`, parameters stripped, encoded
  whitespace trimmed around each segment and trailing dots dropped, dot segments resolved.
Case is not varied here: authz folds case where a case-insensitive reading widens a denial.

A path with no `%`, no `;` and no segment ending in `.` has one reading, itself, found with four
substring tests: that is the per-request cost for ordinary traffic.

This module must never do I/O or log.
"""

from __future__ import annotations

import re

from meshproxy.policy.paths import remove_dot_segments as _resolve

__all__ = ["path_readings"]

# Decoding is bounded: a path still encoded after this many rounds is read as it stands then.
_MAX_DECODES = 8
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Escapes a decoding backend turns into path structure; every other escape stays as it is.
_STRUCTURAL = {0x2F: "/", 0x5C: "/", 0x25: "%", 0x3B: ";"}
# Overlong UTF-8 forms of `/`, `.` and `\` that old decoders (IIS, some Java) accepted.
_OVERLONG = re.compile(r"%C0%AF|%C0%AE|%C1%9C", re.IGNORECASE)
_OVERLONG_CHAR = {"AF": "/", "AE": ".", "9C": "/"}
# Where a decoding backend's path ends: a NUL to C code, `?` and `#` to a second URL parser.
_ENDS = ("%00", "%3F", "%23")
# Encoded whitespace a trimming backend (Java `String.trim`, Windows path APIs) drops.
_LEADING_SPACE = re.compile(r"^(?:%(?:20|09|0A|0B|0C|0D))+")
_TRAILING_SPACE = re.compile(r"(?:%(?:20|09|0A|0B|0C|0D))+$")


def path_readings(path: str) -> tuple[str, ...]:
    """`path` as `normalize_path` returned it, then each distinct other reading of it."""
    if "%" not in path and ";" not in path and "./" not in path and not path.endswith("."):
        return (path,)
    readings = [path]
    stripped = _resolve(_strip_parameters(path)) if ";" in path else path
    for reading in (_resolve(_unescape(path)), stripped, _loosest(path)):
        if reading not in readings:
            readings.append(reading)
    return tuple(readings)


def _unescape_one(match: re.Match[str]) -> str:
    byte = int(match[1], 16)
    if byte in _UNRESERVED:
        return chr(byte)
    return _STRUCTURAL.get(byte) or "%" + match[1].upper()


def _unescape(path: str) -> str:
    return _ESCAPE.sub(_unescape_one, path)


def _strip_parameters(path: str) -> str:
    if ";" not in path:
        return path
    return "/".join(segment.split(";", 1)[0] for segment in path.split("/"))


def _trim(segment: str) -> str:
    if "%" not in segment and not segment.endswith("."):
        return segment  # nothing to trim: the common segment skips both expressions
    trimmed = _TRAILING_SPACE.sub("", _LEADING_SPACE.sub("", segment))
    if trimmed.strip("."):  # a segment of dots only is a dot segment, resolved later
        trimmed = _TRAILING_SPACE.sub("", trimmed.rstrip("."))
    return trimmed


def _loosest(path: str) -> str:
    text = path
    for _ in range(_MAX_DECODES):
        decoded = _unescape(_OVERLONG.sub(lambda m: _OVERLONG_CHAR[m[0][-2:].upper()], text))
        if decoded == text:
            break
        text = decoded
    for end in _ENDS:
        text = text.split(end, 1)[0]
    return _resolve("/".join(_trim(s) for s in _strip_parameters(text).split("/")))

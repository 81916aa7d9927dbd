"""A gateway config checked and serialised from per-virtual-host pieces kept between compiles.

`result.versioned` checks a config with the proxy's decoder and dumps it whole: at 10,000 Routes
that is a 5.7 MB encode, decode and dump for every change, most of a change's compile. A Route
change moves the virtual hosts of its hostnames only, so here each virtual host is checked and
dumped on its own and kept (`VhostPiece`); the next compile reuses a piece whenever the virtual
host it built is equal to the kept one, and checks and dumps only the others. The rest of the
config (listeners without their virtual hosts, clusters, policies) is one more piece, kept and
reused the same way: a Route change rarely moves a cluster, and its check and dump (200
clusters of 10 endpoints) was half of what remained of this step at 1,000 Routes.

The outcome is exactly `versioned(config)`'s: the same checked struct and the same text, byte
for byte (a property test compares the two through every incremental compile). Pure; never
holds a piece it did not check.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec
from msgspec.structs import force_setattr, replace

from meshproxy import config as pc
from meshproxy.config.codec import explain

from .result import stamp

# (listener name, listener port, virtual host name): where a piece sits in the config.
PieceKey = tuple[str, int, str]
# A stretch of a config's text, and whether it is a kept piece's (worth keeping compressed).
Segment = tuple[str, bool]

_VHOST_DECODER = msgspec.json.Decoder(pc.VirtualHost)
# Stands in for one listener's virtual hosts in the dump of the rest; JSON escapes the NUL, so
# no string of the config can be the marker's text.
_MARKER = "\x00meshgate-virtual-hosts-{}"


@dataclass(frozen=True)
class VhostPiece:
    built: pc.VirtualHost  # as the compile built it: what the next compile compares with
    checked: pc.VirtualHost  # as the proxy decodes it
    text: str  # its canonical JSON


@dataclass(frozen=True)
class RestPiece:
    """The config without its virtual hosts."""

    built: pc.ProxyConfig  # as the compile built it (every listener's virtual hosts emptied)
    checked: pc.ProxyConfig  # as the proxy decodes it
    text: str  # its canonical JSON with an empty version, each listener's hosts a marker


@dataclass(frozen=True)
class Pieces:
    """What one compile of a gateway config keeps for the next."""

    vhosts: Mapping[PieceKey, VhostPiece] = field(default_factory=dict)
    rest: RestPiece | None = None
    # The stamped text in order (joined, it is the text): what `gzip_members` compresses.
    segments: tuple[Segment, ...] = ()
    # A kept segment's text -> its gzip member, for the next compile's `gzip_members`.
    members: Mapping[str, bytes] = field(default_factory=dict)


def gzip_members(
    segments: tuple[Segment, ...], kept: Mapping[str, bytes]
) -> tuple[bytes, dict[str, bytes]]:
    """The text gzip'ed as one member per segment (a gzip stream may hold several members; it
    decompresses to their texts joined), each kept segment's member reused from `kept`: a change
    compresses again only the virtual hosts it moved (at 10,000 Routes, compressing all 5.6 MB
    at every change took ~90 ms). Deterministic: the same segments give the same bytes, whatever
    was kept. Also returns the members to keep."""
    out: list[bytes] = []
    members: dict[str, bytes] = {}
    for text, keep in segments:
        if not text:
            continue
        member = kept.get(text) if keep else None
        if member is None:
            member = gzip.compress(text.encode(), compresslevel=6, mtime=0)
        if keep:
            members[text] = member
        out.append(member)
    return b"".join(out), members


def versioned_in_pieces(config: pc.ProxyConfig, kept: Pieces) -> tuple[pc.ProxyConfig, str, Pieces]:
    """`versioned(config)` (the checked, stamped config and its text), reusing the kept pieces
    of unchanged virtual hosts and rest; and the pieces to keep for the next compile."""
    pieces: dict[PieceKey, VhostPiece] = {}
    by_listener: list[list[VhostPiece]] = []
    for i, listener in enumerate(config.listeners):
        row = []
        for j, vhost in enumerate(listener.virtual_hosts):
            key = (listener.name, listener.port, vhost.name)
            piece = kept.vhosts.get(key)
            if piece is None or not (piece.built is vhost or piece.built == vhost):
                piece = _piece(vhost, f"listeners[{i}].virtualHosts[{j}]")
            pieces[key] = piece
            row.append(piece)
        by_listener.append(row)
    bare = replace(config, listeners=[replace(ln, virtual_hosts=[]) for ln in config.listeners])
    rest = kept.rest
    if rest is None or not (rest.built is bare or rest.built == bare):
        rest = _rest(bare)
    checked_bare, tail = rest.checked, rest.text
    # The text in segments: glue (fresh each time) and the pieces' own texts (kept objects).
    segments: list[Segment] = []
    for i, row in enumerate(by_listener):
        marker = json.dumps(_MARKER.format(i))
        before, found, after = tail.partition(marker)
        if not found or marker in after:  # a compiler bug: JSON escapes a string's NUL
            raise RuntimeError(f"virtual-host marker {i} is not in the config dump once")
        glue = before + "["
        for k, p in enumerate(row):
            segments.append((glue if k == 0 else ",", False))
            segments.append((p.text, True))
        tail = ("" if row else glue) + "]" + after
    blank = "".join(text for text, _ in segments) + tail
    digest, stamped_text = stamp(blank)
    stamped_tail = stamped_text[len(blank) - len(tail) :]
    if stamped_text.startswith(blank[: len(blank) - len(tail)]):
        segments.append((stamped_tail, False))
    else:  # stamped by serialising again (not this schema): one segment
        segments = [(stamped_text, False)]
    checked = _assembled(
        checked_bare,
        [
            replace(ln, virtual_hosts=[p.checked for p in row])
            for ln, row in zip(checked_bare.listeners, by_listener, strict=True)
        ],
        digest,
    )
    return checked, stamped_text, Pieces(pieces, rest, tuple(segments))


def _assembled(bare: pc.ProxyConfig, listeners: list[pc.Listener], version: str) -> pc.ProxyConfig:
    """The checked config with its checked virtual hosts, without `ProxyConfig.__post_init__`
    walking every route's references again: they are the names of the built config, which its
    construction checked, and each piece decodes to the very names it was dumped from (at
    10,000 Routes that walk was 12% of a one-Route change's compile)."""
    out = copy.copy(bare)
    force_setattr(out, "listeners", listeners)
    force_setattr(out, "version", version)
    return out


def _rest(bare: pc.ProxyConfig) -> RestPiece:
    checked = pc.as_loaded(bare)
    data = pc.to_data(checked)
    data["version"] = ""
    for i, listener_data in enumerate(data["listeners"]):
        listener_data["virtualHosts"] = _MARKER.format(i)
    return RestPiece(built=bare, checked=checked, text=pc.canonical_json(data))


def _piece(vhost: pc.VirtualHost, where: str) -> VhostPiece:
    try:
        checked = _VHOST_DECODER.decode(msgspec.json.encode(vhost))
    except msgspec.ValidationError as exc:
        path, _, message = explain(exc).partition(": ")
        inner = "" if path == "(top level)" else f".{path}"
        raise pc.ConfigError(f"invalid config: {where}{inner}: {message}") from None
    return VhostPiece(built=vhost, checked=checked, text=pc.canonical_json(pc.to_data(checked)))

"""Header rules both directions share: hop-by-hop names, and the final check of an outgoing head.

`safe_head` is the last gate before bytes hit a socket: whatever a config, a client or an upstream
supplied, a head with a stray CR, LF or NUL is never written.
"""

from __future__ import annotations

# RFC 9110 §7.6.1, plus the framing headers the proxy always rewrites itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)

# Headers only the proxy may set between sidecars and towards the app: the calling sidecar's
# target port, and the verified peer identity. Every copy a client sends is dropped.
TARGET_PORT_HEADER = "x-meshgate-target-port"
PEER_IDENTITY_HEADER = "x-meshgate-peer-identity"
PROXY_OWNED = frozenset({TARGET_PORT_HEADER, PEER_IDENTITY_HEADER})


# `Connection` values that name only hop-by-hop headers, as clients and upstreams send them on
# nearly every message: known without splitting them (2,000 instructions per message, measured).
# Not `close`: no hop-by-hop name, so a split value still drops a header called `close`.
PLAIN_CONNECTION = frozenset({"keep-alive", "Keep-Alive", "upgrade", "Upgrade"})


def connection_tokens(value: str) -> set[str]:
    """Header names a `Connection` header marks as hop-by-hop for this message."""
    return {t.strip(" \t").lower() for t in value.split(",") if t.strip(" \t")}


def safe_head(head: str, lines: int) -> bool:
    """True when `head`, which its builder ended with `lines` CRLFs of its own (one per line it
    wrote), holds no other CR, LF or NUL: nothing a value carried can start a line.

    Two counts suffice: the builder's CRLFs are `lines` CRs and `lines` LFs, so equal counts
    leave none for the values, and every CR and LF left is one of the builder's pairs (a third
    count, of CRLF pairs, cost 1,000 instructions per head, measured)."""
    return head.count("\r") == lines and head.count("\n") == lines and "\x00" not in head


def valid_field_value(value: str) -> bool:
    return "\r" not in value and "\n" not in value and "\x00" not in value

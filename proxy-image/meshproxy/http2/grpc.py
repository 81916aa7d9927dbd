"""gRPC over HTTP/2: a call's status, its deadline, and the proxy's own answers in its terms.

A gRPC call's outcome is `grpc-status` (in the trailers, or in the headers of a response that
carries no body), not the HTTP status, which is 200 whenever the server answered at all. The
proxy's local replies (403, 429, 503, 504 ...) to a gRPC client are therefore HTTP 200 with a
`grpc-status` the client library understands, as Envoy answers them.
"""

from __future__ import annotations

import re

# Envoy's `Grpc::Utility::httpToGrpcStatus`, with a proxy timeout as DEADLINE_EXCEEDED (a gRPC
# client reads that as its deadline, which is what the proxy enforced).
_FROM_HTTP: dict[int, int] = {
    400: 13,  # INTERNAL
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 12,  # UNIMPLEMENTED
    413: 8,  # RESOURCE_EXHAUSTED
    429: 14,  # UNAVAILABLE
    431: 8,
    # The proxy answers 500 locally where a route rule has no valid backend (the Gateway API's
    # rule for HTTPRoutes), for which the GRPCRoute spec asks UNAVAILABLE; and where a request
    # handler failed, a fault of this proxy, not of the call: UNAVAILABLE too (Envoy: UNKNOWN).
    500: 14,
    502: 14,
    503: 14,
    504: 4,  # DEADLINE_EXCEEDED
}

# Envoy's `grpcToHttpStatus`: what a gRPC status counts as for outlier detection and metrics.
_TO_HTTP: dict[str, int] = {
    "0": 200,
    "1": 499,
    "2": 500,
    "3": 400,
    "4": 504,
    "5": 404,
    "6": 409,
    "7": 403,
    "8": 429,
    "9": 400,
    "10": 409,
    "11": 400,
    "12": 501,
    "13": 500,
    "14": 503,
    "15": 500,
    "16": 401,
}

_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")
_UNIT = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def is_grpc(content_type: str | None) -> bool:
    return content_type is not None and content_type.startswith("application/grpc")


def status_of(headers: list[tuple[str, str]]) -> str:
    """The `grpc-status` among `headers`, "" when there is none."""
    for name, value in headers:
        if name == "grpc-status":
            return value
    return ""


def as_http(grpc_status: str) -> int:
    """The HTTP status a gRPC status counts as (outlier detection, 5xx metrics)."""
    return _TO_HTTP.get(grpc_status, 500)


def parse_timeout(value: str | None) -> float | None:
    """Seconds of a `grpc-timeout` value (`100m`, `5S`); None when absent or malformed."""
    if not value:
        return None
    match = _TIMEOUT.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)) * _UNIT[match.group(2)]


def local_reply(status: int) -> list[tuple[str, str]]:
    """The whole answer (HTTP/2 headers, ending the stream) for a local reply of `status`."""
    code = _FROM_HTTP.get(status, 2)  # UNKNOWN
    return [
        (":status", "200"),
        ("content-type", "application/grpc"),
        ("grpc-status", str(code)),
        ("grpc-message", f"meshproxy: {status}"),
    ]

"""One access log line per request, built with one f-string instead of a dict and `json.dumps`.

What is constant for a listener (its name) is encoded once, when its stack is built; per request
only the strings that vary are escaped, with the json module's own C escaper, so a line is
byte for byte what `json.dumps(record, separators=(",", ":"), ensure_ascii=True)` writes for the
same record, keys in the same order.

Every substitution is a `str` (or an `int`), never a conversion (`!r`) or format spec: mypyc
compiles such an f-string to one concatenation, while a single `!r` makes it build the whole
line through a `str.format` call per field (18,900 more instructions per request, measured).

This module must never write anything: it returns the line.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _quote

from meshproxy.http.message import Exchange

# Quoted values kept per listener, for the fields that repeat from request to request (method,
# route, cluster, endpoint, client address, peer identity): a dict lookup instead of a call to
# the escaper.
# Bounded: a listener that sees more distinct values starts over.
_KEPT_MAX = 1024


# The digits after the point of a whole number of microseconds written in milliseconds, as
# `repr` of the float writes them ("5", "25", "125", "0"): an index instead of `round` and
# `repr` of a float (7,800 instructions per request, measured).
_FRACTION = tuple((f"{n:03d}".rstrip("0") or "0") for n in range(1000))
# Past this many microseconds (about 31 years) `repr` switches to an exponent.
_PLAIN_MAX = 10**15


def milliseconds(seconds: float) -> str:
    """A duration in milliseconds rounded to the microsecond, as JSON writes the float
    `round(seconds * 1e6) / 1000` (e.g. "0.5", "12.345", "3.0")."""
    micros = int(seconds * 1_000_000 + 0.5) if seconds > 0 else 0
    if micros >= _PLAIN_MAX:
        return repr(micros / 1000)
    return str(micros // 1000) + "." + _FRACTION[micros % 1000]


class AccessLine:
    __slots__ = ("_kept", "_prefix")

    def __init__(self, listener: str) -> None:
        self._prefix = '{"listener":' + _quote(listener) + ',"method":'
        self._kept: dict[str, str] = {}

    def _q(self, value: str) -> str:
        """`_quote(value)`, from `_kept` when this listener quoted it before."""
        kept = self._kept
        quoted = kept.get(value)
        if quoted is None:
            quoted = _quote(value)
            if len(kept) >= _KEPT_MAX:
                kept.clear()
            kept[value] = quoted
        return quoted

    def __call__(
        self, exchange: Exchange, status: int, duration: float, sent: int, ok: bool
    ) -> str:
        q = _quote
        kept = self._q  # values that repeat; the path and the ids are new on every request
        duration_ms = milliseconds(duration)  # a str: see the module docstring
        line = (
            f"{self._prefix}{kept(exchange.request.method)},"
            f'"protocol":"HTTP/{exchange.request.version}",'
            f'"path":{q(exchange.request.path)},'
            f'"status":{status},'
            f'"duration_ms":{duration_ms},'
            f'"bytes_sent":{sent},'
            f'"route":{kept(exchange.route)},'
            f'"cluster":{kept(exchange.cluster)},'
            f'"upstream":{kept(exchange.endpoint)},'
            f'"request_id":{q(exchange.request_id)},'
            f'"trace_id":{q(exchange.trace_id)},'
            f'"client":{kept(exchange.client_ip)}'
        )
        if exchange.grpc_status:
            line += f',"grpc_status":{q(exchange.grpc_status)}'
        if exchange.identity or exchange.attempts or exchange.flags or not ok:
            if exchange.identity:
                line += f',"peer_identity":{kept(exchange.identity)}'
            if exchange.attempts:
                line += f',"retries":{exchange.attempts}'
            if exchange.flags:
                line += f',"flags":{q(exchange.flags)}'
            if not ok:
                line += ',"incomplete":true'
        return line + "}"

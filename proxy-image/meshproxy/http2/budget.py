"""Per-connection budgets for frames that cost the proxy work but carry no request.

Each kind is counted in one-second windows: stream resets by the client (CVE-2023-44487, rapid
reset: open a stream, reset it, repeat, so the proxy starts work it never finishes), PING and
SETTINGS frames (each one the proxy must answer). Over its budget the connection is told
GOAWAY ENHANCE_YOUR_CALM and closed.

This module must never read the clock: the connection passes `now`.
"""

from __future__ import annotations

from meshproxy.config import Http2Limits

RESET, PING, SETTINGS = 0, 1, 2


class FrameBudget:
    __slots__ = ("_counts", "_limits", "_window")

    def __init__(self, limits: Http2Limits) -> None:
        self._limits = (
            limits.max_resets_per_second,
            limits.max_pings_per_second,
            limits.max_settings_per_second,
        )
        self._counts = [0, 0, 0]
        self._window = 0.0

    def spend(self, kind: int, now: float) -> bool:
        """Count one frame of `kind`; False once this second's budget is exceeded."""
        if now - self._window >= 1.0:
            self._window = now
            self._counts = [0, 0, 0]
        self._counts[kind] += 1
        return self._counts[kind] <= self._limits[kind]

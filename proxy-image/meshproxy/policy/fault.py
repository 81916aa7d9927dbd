"""Fault injection: whether this request is delayed, aborted, both or neither.

Delay and abort are decided independently, each with its own draw, as Envoy and Istio do; the
runtime waits the delay first and then aborts or forwards.

This module must never sleep or draw random numbers: the two draws are passed in.
"""

from __future__ import annotations

from meshproxy import config

__all__ = ["FaultDecider"]


class FaultDecider:
    __slots__ = ("_abort_below", "_abort_status", "_delay", "_delay_below")

    def __init__(self, cfg: config.Fault) -> None:
        # A draw r in [0, 1) hits when r < percent / 100: 100 always hits, 0 never does.
        self._delay = cfg.delay.fixed_delay if cfg.delay else 0.0
        self._delay_below = cfg.delay.percent / 100.0 if cfg.delay else 0.0
        self._abort_status = cfg.abort.status if cfg.abort else None
        self._abort_below = cfg.abort.percent / 100.0 if cfg.abort else 0.0

    def decide(self, r_delay: float, r_abort: float) -> tuple[float, int | None]:
        """(seconds to delay, status to abort with or None) for draws uniform in [0, 1)."""
        delay = self._delay if r_delay < self._delay_below else 0.0
        abort = self._abort_status if r_abort < self._abort_below else None
        return delay, abort

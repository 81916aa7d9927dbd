"""When CPython's cyclic garbage collector may stall the proxy, decided once it serves.

The collector's full pass (its oldest generation) walks every tracked object the process holds,
on the one thread that serves every connection: each request in flight waits for it. With
thousands of slow clients held open that pass took 200-660 ms (bench/hostile/REPORT.md), and it
came every 30-35 s under attack: it was the p99 of every well-behaved client. Two settings keep
it off the request path without giving up on cycles:

- what was built before the first request (modules, the config, compiled routes: some 26,000
  objects) lives as long as the process: it is frozen out of every pass (`gc.freeze`);
- a full pass runs after `FULL_PASS_EVERY` passes of the middle generation instead of CPython's
  10. A closed client connection is freed by reference counting (`server.protocol` cuts its
  cycles), so it never waits for a full pass; what still does (a cycle that outlived two young
  passes) waits ten times longer.

The young passes are left as CPython sets them: they walk only new objects. This module touches
only the `gc` module.
"""

from __future__ import annotations

import gc

FULL_PASS_EVERY = 100  # middle-generation passes per full pass (CPython: 10)


def thresholds(current: tuple[int, int, int]) -> tuple[int, int, int]:
    """The collector's thresholds while serving: the young ones as they are, full passes rarer."""
    young, middle, oldest = current
    return young, middle, max(oldest, FULL_PASS_EVERY)


def settle() -> None:
    """Called once the proxy serves: collect what start-up left, freeze what survives it, and
    make full passes rare."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds(gc.get_threshold()))

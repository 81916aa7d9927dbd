"""Gateway API durations (`1h30m`, `250ms`) to float seconds, the proxy config's unit. Pure."""

from __future__ import annotations

import re

_PART = re.compile(r"([0-9]+)(ms|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def seconds(duration: str) -> float:
    """Parse a duration the CRD schema already accepted; raises ValueError on anything else."""
    pos, total = 0, 0.0
    for part in _PART.finditer(duration):
        if part.start() != pos:
            break
        total += int(part.group(1)) * _UNIT[part.group(2)]
        pos = part.end()
    if pos != len(duration) or not duration:
        raise ValueError(f"not a duration: {duration!r} (write e.g. 100ms, 10s, 1m or 1h30m)")
    return round(total, 6)

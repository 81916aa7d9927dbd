"""Checks for the resource quantities and port lists users write in Pod annotations.

A bad annotation must not make the API server reject the Pod with an obscure message about our
container, so each check returns the value or None and the caller warns and uses the default.
Pure; never raises on user input.
"""

from __future__ import annotations

import re

_CPU = re.compile(r"^(?:[0-9]+m|[0-9]+(?:\.[0-9]{1,3})?)$")
_MEMORY = re.compile(r"^[0-9]+(?:\.[0-9]+)?(?:[KMGTPE]i|[kMGTPE])?$")


def cpu(value: str) -> str | None:
    """A positive CPU quantity such as `100m` or `0.5`, else None."""
    value = value.strip()
    if not _CPU.match(value):
        return None
    return value if float(value.rstrip("m")) > 0 else None


def memory(value: str) -> str | None:
    """A positive memory quantity such as `128Mi` or `1G`, else None (no millibytes)."""
    value = value.strip()
    if not _MEMORY.match(value):
        return None
    return value if float(value.rstrip("KMGTPEik")) > 0 else None


def ports(value: str) -> tuple[int, ...] | None:
    """A comma-separated list of TCP ports such as `80,8080`, else None."""
    parts = [p.strip() for p in value.split(",")]
    if not parts or not all(p.isdigit() for p in parts):
        return None
    nums = tuple(int(p) for p in parts)
    return nums if all(1 <= n <= 65535 for n in nums) else None

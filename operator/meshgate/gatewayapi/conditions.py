"""Conditions as the Gateway API writes them: `metav1.Condition` without the transition time,
which the I/O layer adds by comparing with what is stored. Pure."""

from __future__ import annotations

from typing import Any

Condition = dict[str, Any]


def cond(type_: str, ok: bool, reason: str, message: str, generation: int) -> Condition:
    return {
        "type": type_,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message[:32768],
        "observedGeneration": generation,
    }


def is_true(conditions: list[Condition], type_: str) -> bool:
    return any(c["type"] == type_ and c["status"] == "True" for c in conditions)

"""`same`: whether two snapshot values would compile identically. Pure.

Objects from the I/O layer's parse cache are the very same object while their resourceVersion
holds, so identity answers almost every question at once; equality covers values rebuilt from
unchanged bodies. `Meta` leaves its annotations out of equality (they are not part of an
object's identity), but the catalog page reads them, so they are compared here too.
"""

from __future__ import annotations

from typing import Any


def same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if a is None or b is None or a != b:
        return False
    meta_a, meta_b = getattr(a, "meta", None), getattr(b, "meta", None)
    return meta_a is None or meta_b is None or meta_a.annotations == meta_b.annotations

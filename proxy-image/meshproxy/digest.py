"""SHA-256 from CPython's own module, without `hashlib`.

Importing `hashlib` makes one object of every OpenSSL digest it knows (md5 to shake_256, to learn
which work): 0.6 MiB of every idle proxy, measured with bench/proxy/footprint.py, for one hash of
the config at load. The interpreter's built-in `_sha256` (`_sha2` from 3.12) gives the same
digest; `hashlib` stays the fallback for an interpreter built without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Hash(Protocol):
    def hexdigest(self) -> str: ...


def _constructor() -> Callable[[bytes], Hash]:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            from hashlib import sha256  # type: ignore[assignment,no-redef,unused-ignore]
    return sha256  # type: ignore[no-any-return,unused-ignore]


sha256: Callable[[bytes], Hash] = _constructor()


def sha256_hex(data: bytes) -> str:
    return sha256(data).hexdigest()

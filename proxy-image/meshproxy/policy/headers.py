"""Header modifiers (set, add, remove) and the byte rules every header the proxy writes obeys.

A header modifier is checked once, when the config loads: a name that is not an RFC 9110 token,
or a value with CR, LF, NUL or another control byte, fails the whole config (the proxy keeps the
old one), because a bad byte reaching the wire is header injection. `is_valid_header_name` and
`is_valid_header_value` are the same rules for the runtime's checks of what clients and upstreams
send.

This module must never do I/O or log, and `apply` must never emit a header it did not validate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meshproxy import config

__all__ = ["HeaderOps", "is_valid_header_name", "is_valid_header_value"]

# token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
# "_" / "`" / "|" / "~" / DIGIT / ALPHA  (RFC 9110 §5.6.2)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# field-value: HTAB, SP, VCHAR and obs-text; no other control byte (RFC 9110 §5.5)
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")


def is_valid_header_name(name: bytes) -> bool:
    """True when `name` is a non-empty RFC 9110 token (no space, colon or control byte)."""
    return _TOKEN.fullmatch(name) is not None


def is_valid_header_value(value: bytes) -> bool:
    """True when `value` holds no CR, LF, NUL or other control byte except HTAB."""
    return _FIELD_VALUE.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class HeaderOps:
    """A compiled modifier. `apply` removes, then sets (replacing every copy), then adds."""

    drop: frozenset[str]  # lower-case names to take out: `remove` and `set` together
    append: tuple[tuple[str, str], ...]  # `set` then `add`, in config order

    @classmethod
    def compile(cls, modifier: config.HeaderModifier) -> HeaderOps:
        for name, value in (*modifier.set.items(), *modifier.add.items()):
            _check(name, value)
        for name in modifier.remove:
            _check(name, "")
        drop = frozenset(n.lower() for n in (*modifier.remove, *modifier.set))
        return cls(drop=drop, append=(*modifier.set.items(), *modifier.add.items()))

    def apply(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Return a new list; names compare case-insensitively, the input is left as it is."""
        drop = self.drop
        kept = [item for item in headers if item[0].lower() not in drop] if drop else [*headers]
        kept.extend(self.append)
        return kept


def _check(name: str, value: str) -> None:
    try:
        raw_name, raw_value = name.encode("latin-1"), value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"header {name!r}: name and value must be latin-1 text") from None
    if not is_valid_header_name(raw_name):
        raise ValueError(f"header {name!r}: the name is not a valid HTTP token")
    if not is_valid_header_value(raw_value):
        raise ValueError(f"header {name!r}: the value contains CR, LF, NUL or a control byte")

"""What every config struct shares: the wire spelling, strictness and the bounded scalar types.

msgspec `Struct`s, not pydantic models: the proxy decodes and validates its config with msgspec
alone (pydantic and its schema state held ≈ 10 MiB of an idle proxy), and the operator builds
the same structs. Struct `__init__` checks no types or bounds, only the cross-field rules in
each struct's `__post_init__`: a config is checked in full when it is decoded (`codec`), which
the operator does to everything it writes before writing it.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

import msgspec

Seconds = Annotated[float, msgspec.Meta(ge=0)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Status = Annotated[int, msgspec.Meta(ge=200, le=599)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]
MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]


class Model(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """Base of every config struct: camelCase on the wire, unknown fields refused, immutable.

    Subclasses say `frozen=True` again: msgspec inherits it at run time, but mypy reads each
    class's own keywords and refuses a non-frozen subclass of a frozen one. A field without a
    default must come before those with one (msgspec's rule for positional `__init__`); build
    structs with keywords all the same.
    """

    @classmethod
    def from_data(cls, data: object) -> Self:
        """This struct from wire-spelled data (camelCase keys, as in config.json), checked as the
        proxy checks its config file: msgspec.ValidationError (a ValueError) says what is wrong."""
        return msgspec.convert(data, cls)

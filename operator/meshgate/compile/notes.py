"""What a compile stage found about objects, as an immutable record the status pass replays.

A stage (one Gateway's config, one namespace's, one Route's rules, a policy index) never writes
status: it records its findings in `Notes` and hands back `notes.freeze()`, a tuple that can be
kept and reused while the stage's inputs stay the same. `Report.replay` applies the records of
every stage in one fixed order, so a status is the same whether a stage ran now or its record
was kept from an earlier compile.
"""

from __future__ import annotations

from typing import Any, Literal

from .snapshot import Meta

Status = Literal["True", "False", "Unknown"]

# ("set" | "default", kind, meta, type, status, reason, message), ("field", kind, meta, name,
# value) or ("track", kind, meta). Values of "field" are never mutated after recording.
Note = tuple[Any, ...]
NoteLog = tuple[Note, ...]


class Notes:
    """Records findings in call order; `freeze()` is the stage's immutable usage record."""

    __slots__ = ("_log",)

    def __init__(self) -> None:
        self._log: list[Note] = []

    def track(self, kind: str, meta: Meta) -> None:
        self._log.append(("track", kind, meta))

    def set(
        self, kind: str, meta: Meta, type_: str, status: Status, reason: str, message: str
    ) -> None:
        """A condition; a later, worse word on the same type replaces a good one (`Report`)."""
        self._log.append(("set", kind, meta, type_, status, reason, message))

    def default(
        self, kind: str, meta: Meta, type_: str, status: Status, reason: str, message: str
    ) -> None:
        """A condition only when nothing has been said about that type yet."""
        self._log.append(("default", kind, meta, type_, status, reason, message))

    def field(self, kind: str, meta: Meta, name: str, value: Any) -> None:
        """A status field besides conditions (the last one recorded wins)."""
        self._log.append(("field", kind, meta, name, value))

    def extend(self, log: NoteLog) -> None:
        """Records kept from an earlier call, as if made again now."""
        self._log.extend(log)

    def freeze(self) -> NoteLog:
        return tuple(self._log)

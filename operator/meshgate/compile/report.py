"""Status as compile output: the conditions and explanations each object will show.

Compile stages record what they found about each object (`meshgate.compile.notes`); the status
pass replays those records into a `Report` and concludes; `ObjectStatus` is the frozen result,
written as a status body by the I/O layer. Time never enters here: the I/O layer adds
`lastTransitionTime` by comparing with what is already stored, so status stays a pure function of
the snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .notes import NoteLog, Status
from .snapshot import Meta


def q(value: object) -> str:
    """Quote a name in a message the way kubectl does: `service "orders"`."""
    return f'"{value}"'


@dataclass(frozen=True)
class Condition:
    type: str
    status: Status
    reason: str
    message: str


@dataclass(frozen=True)
class ObjectStatus:
    """The status one meshgate object should have. `fields` are status fields besides conditions."""

    kind: str
    namespace: str
    name: str
    generation: int
    conditions: tuple[Condition, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def key(self) -> tuple[str, str, str]:
        # Made once: the status lane and the status pass ask for it several times per object
        # per change (600,000 tuples per 10 changes at 10,000 Routes).
        return (self.kind, self.namespace, self.name)

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def body(self) -> dict[str, Any]:
        """The status subresource body without timestamps, camelCase as the CRDs define it.

        Field values are shared with the compiler's kept usage records: copy before changing
        anything inside them."""
        conditions = [
            {
                "type": c.type,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "observedGeneration": self.generation,
            }
            for c in self.conditions
        ]
        summary = next((c for c in self.conditions if not is_good(c)), None)
        out: dict[str, Any] = {
            "observedGeneration": self.generation,
            "conditions": conditions,
            **self.fields,
        }
        verdict = dict(out.get("summary") or {})
        if summary is not None:
            verdict.update(reason=summary.reason, message=summary.message[:1024])
        if verdict:
            out["summary"] = verdict
        return out


# Conditions whose "good" state is False (Gateway API's PartiallyInvalid is a warning when True).
_NEGATIVE = frozenset({"PartiallyInvalid", "Conflicted"})


def is_good(c: Condition) -> bool:
    """Whether the condition is in the state that means "all is well" (False for Conflicted)."""
    return c.status == ("False" if c.type in _NEGATIVE else "True")


class Report:
    """Collects conditions and fields in the status pass; the first word on a condition type wins
    unless a later, worse one replaces it (False beats True: one problem is enough to say so)."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str, str], tuple[int, dict[str, Condition]]] = {}
        self._fields: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Objects whose status is concluded and made (`place`): `freeze` hands these back.
        self._made: dict[tuple[str, str, str], ObjectStatus] = {}

    def track(self, kind: str, meta: Meta) -> None:
        key = (kind, meta.namespace, meta.name)
        if key not in self._objects:
            self._objects[key] = (meta.generation, {})

    def set(
        self, kind: str, meta: Meta, type_: str, status: Status, reason: str, message: str
    ) -> None:
        self.track(kind, meta)
        conds = self._objects[(kind, meta.namespace, meta.name)][1]
        new = Condition(type_, status, reason, message)
        old = conds.get(type_)
        if old is None or (is_good(old) and not is_good(new)):
            conds[type_] = new

    def has(self, kind: str, meta: Meta, type_: str) -> bool:
        entry = self._objects.get((kind, meta.namespace, meta.name))
        return entry is not None and type_ in entry[1]

    def get(self, kind: str, meta: Meta, type_: str) -> Condition | None:
        entry = self._objects.get((kind, meta.namespace, meta.name))
        return entry[1].get(type_) if entry else None

    def default(
        self, kind: str, meta: Meta, type_: str, status: Status, reason: str, message: str
    ) -> None:
        """Set a condition only when nothing has been said about it yet."""
        if not self.has(kind, meta, type_):
            self.set(kind, meta, type_, status, reason, message)

    def replay(self, log: NoteLog) -> None:
        """Apply a stage's recorded findings, in the order they were recorded."""
        for note in log:
            op = note[0]
            if op == "set":
                self.set(*note[1:])
            elif op == "default":
                self.default(*note[1:])
            elif op == "field":
                self.fields(note[1], note[2])[note[3]] = note[4]
            else:
                self.track(note[1], note[2])

    def fields(self, kind: str, meta: Meta) -> dict[str, Any]:
        self.track(kind, meta)
        return self._fields.setdefault((kind, meta.namespace, meta.name), {})

    def state(self, key: tuple[str, str, str]) -> ObjectState:
        """What has been said about one object so far (copies: the report goes on changing)."""
        generation, conds = self._objects.get(key, (0, {}))
        return generation, dict(conds), dict(self._fields.get(key, {}))

    def says(self, key: tuple[str, str, str], state: ObjectState) -> bool:
        """Whether what has been said about the object so far is `state` (copies nothing)."""
        generation, conds = self._objects.get(key, (0, _NO_CONDITIONS))
        return (
            generation == state[0]
            and conds == state[1]
            and self._fields.get(key, _NO_FIELDS) == state[2]
        )

    def made(self, key: tuple[str, str, str]) -> ObjectStatus:
        """The object's status as `freeze` would make it now."""
        generation, conds = self._objects[key]
        return ObjectStatus(
            kind=key[0],
            namespace=key[1],
            name=key[2],
            generation=generation,
            conditions=tuple(conds[t] for t in sorted(conds, key=_condition_order)),
            fields=self._fields.get(key, {}),
        )

    def place(self, status: ObjectStatus) -> None:
        """The object's status, concluded (made by `made` once, now or in an earlier pass):
        `freeze` hands back this very `status`. Final: nothing more is said about the object."""
        key = status.key
        self.track_key(key, status.generation)
        self._made[key] = status

    def track_key(self, key: tuple[str, str, str], generation: int) -> None:
        if key not in self._objects:
            self._objects[key] = (generation, {})

    def freeze(self) -> tuple[ObjectStatus, ...]:
        made = self._made
        return tuple(made.get(key) or self.made(key) for key in sorted(self._objects))


_NO_CONDITIONS: dict[str, Condition] = {}
_NO_FIELDS: dict[str, Any] = {}

# (generation, conditions by type, fields) of one object in a `Report`.
ObjectState = tuple[int, dict[str, Condition], dict[str, Any]]

_ORDER = ("Accepted", "ResolvedRefs", "Programmed", "Ready", "Served", "PartiallyInvalid")


def _condition_order(type_: str) -> tuple[int, str]:
    return (_ORDER.index(type_) if type_ in _ORDER else len(_ORDER), type_)

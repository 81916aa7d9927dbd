"""What `analyze` reports: the compiler's conditions, as findings with a file, a line and a field.

The compiler speaks in conditions on objects (`ObjectStatus`); a person fixing a manifest wants
"this file, this field, this reason". This module turns one into the other and decides how bad
each finding is. Offline, a finding that depends on objects the files do not hold (a Service, a
Secret, a shared Gateway) is a warning: it holds only if the cluster lacks them too. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from meshgate.compile.report import ObjectStatus, is_good

from .manifests import Document, field_line

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

# Reasons that follow from running workloads, not from the manifests: no Pods, no ready proxies.
RUNTIME_REASONS = frozenset(
    {"NoReadyEndpoints", "ReplicasNotReady", "NotAttached", "NoMatchingEndpoints", "NotServed"}
)
# Reasons about an object the manifests refer to; offline it may exist in the cluster.
REFERENCE_REASONS = frozenset(
    {
        "BackendNotFound",
        "SecretNotFound",
        "TargetNotFound",
        "RedisNotResolved",
        "NoMatchingTarget",
        "NoMatchingParent",
        "NotAllowedByListeners",
        "InvalidCertificateRef",
        "RetryPolicyNotFound",
        "InvalidSecret",
        "InvalidJWKS",
    }
)
# Where to look when the message names no field: the field each reason is about.
REASON_FIELDS: Mapping[str, str] = {
    "NoMatchingParent": "spec.parentRefs",
    "NotAllowedByListeners": "spec.parentRefs",
    "NoMatchingListenerHostname": "spec.hostnames",
    "HostnameConflict": "spec.hostnames",
    "Shadowed": "spec.rules",
    "RefNotPermitted": "spec.rules",
    "InvalidSubset": "spec.subsets",
    "TargetNotFound": "spec.targetRefs",
    "NoMatchingTarget": "spec.targetRefs",
    "InvalidCertificateRef": "spec.listeners",
    "UnsupportedSNI": "spec.listeners",
    "Unsupported": "spec.mode",
}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    kind: str
    namespace: str
    name: str
    file: str
    line: int
    field: str
    condition: str
    reason: str
    message: str

    def row(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "(cluster)"


def findings(
    statuses: Iterable[ObjectStatus],
    docs: Sequence[Document],
    *,
    offline: bool,
) -> list[Finding]:
    """Every condition that is not in its good state, as findings, errors first."""
    by_key = {(d.kind, d.namespace, d.name): d for d in docs}
    # What the files hold settles some references: a Gateway in the files that lacks the
    # listener a Route names is an error, not a guess about the cluster.
    known = {f"{d.namespace}/{d.name}" for d in docs if d.kind == "Gateway"}
    known |= {f"namespace/{d.name}" for d in docs if d.kind == "Namespace"}
    out: list[Finding] = []
    for status in statuses:
        doc = by_key.get(status.key)
        for cond in status.conditions:
            if is_good(cond):
                continue
            settled = offline and _settled(cond.reason, cond.message, status.namespace, known)
            out += _from_condition(
                status, doc, cond.type, cond.reason, cond.message, offline and not settled
            )
        for i, listener in enumerate(status.fields.get("listeners") or []):
            for cond in listener.get("conditions") or []:
                if _listener_good(cond):
                    continue
                name = listener.get("name", i)
                out += _from_condition(
                    status, doc, str(cond.get("type")), str(cond.get("reason") or ""),
                    f"listener {name}: {cond.get('message') or ''}", offline,
                    field=_listener_field(doc, name),
                )  # fmt: skip
    return sorted(
        out, key=lambda f: (SEVERITY_ORDER[f.severity], f.file, f.line, f.kind, f.name, f.field)
    )


def _settled(reason: str, message: str, namespace: str, known: set[str]) -> bool:
    """Whether the files alone decide this reference finding."""
    if reason == "NoMatchingParent":
        return any(name in known for name in _QUOTED.findall(message))
    if reason == "NotAllowedByListeners":  # the namespace's labels decide: are they in the files?
        return f"namespace/{namespace}" in known and any(
            n in known for n in _QUOTED.findall(message)
        )
    return False


def severity(reason: str, *, offline: bool) -> Severity:
    if reason in RUNTIME_REASONS:
        return "info"
    if offline and reason in REFERENCE_REASONS:
        return "warning"
    if reason in {"UnsupportedValue"}:
        return "warning"
    return "error"


_SPEC_PART = re.compile(r"(?:^|; )(spec(?:\.[^\s:]+)?): ")
_RULE = re.compile(r"^rule (\d+)\b")
_QUOTED = re.compile(r'"([^"]+)"')


def _from_condition(
    status: ObjectStatus,
    doc: Document | None,
    condition: str,
    reason: str,
    message: str,
    offline: bool,
    field: str | None = None,
) -> list[Finding]:
    sev = severity(reason, offline=offline)
    if offline and sev == "info":
        return []  # nothing runs offline: "no ready endpoints" says nothing about the files
    parts = _split_invalid(message) if reason in {"Invalid", "InvalidSpec"} else []
    if not parts:
        parts = [(field or _field_for(doc, reason, message), message)]
    out = []
    for where, text in parts:
        out.append(
            Finding(
                severity=sev,
                kind=status.kind,
                namespace=status.namespace,
                name=status.name,
                file=doc.path if doc else "",
                line=field_line(doc, _path(where)) if doc else 0,
                field=where,
                condition=condition,
                reason=reason,
                message=text,
            )
        )
    return out


def _split_invalid(message: str) -> list[tuple[str, str]]:
    """`spec.rules.0.port: msg; spec.x: msg` into (`spec.rules[0].port`, `msg`) pairs."""
    starts = list(_SPEC_PART.finditer(message))
    out = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(message)
        out.append((_display(m.group(1)), message[m.end() : end]))
    return out


def _display(dotted: str) -> str:
    """`spec.rules.0.backendRefs.1` as `spec.rules[0].backendRefs[1]`."""
    out = ""
    for part in dotted.split("."):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _path(display: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+", display):
        parts.append(int(token) if token.isdigit() else token)
    return parts


def _field_for(doc: Document | None, reason: str, message: str) -> str:
    rule = _RULE.match(message)
    if rule:
        return f"spec.rules[{rule.group(1)}]"
    spec = (doc.body.get("spec") if doc else None) or {}
    # The message quotes the name it is about ('service "orders" not found'): point at the
    # field holding that name, preferring the kind of field the message speaks of.
    prefer = "backendRefs" if message.startswith("service ") else ""
    for name in _QUOTED.findall(message):
        found = _find_values(spec, name.split("/")[-1], "spec")
        if found:
            return next((f for f in found if prefer and prefer in f), found[0])
    return REASON_FIELDS.get(reason, "spec")


def _find_values(value: Any, wanted: str, here: str) -> list[str]:
    """The paths of every scalar in `value` equal to `wanted`; a ref's `.name` names the ref."""
    if isinstance(value, dict):
        return [p for k, item in value.items() for p in _find_values(item, wanted, f"{here}.{k}")]
    if isinstance(value, list):
        return [
            p for i, item in enumerate(value) for p in _find_values(item, wanted, f"{here}[{i}]")
        ]
    if isinstance(value, str) and value == wanted:
        return [here.removesuffix(".name")]
    return []


def _listener_good(cond: Mapping[str, Any]) -> bool:
    negative = cond.get("type") in {"Conflicted", "PartiallyInvalid"}
    return (
        cond.get("status") == ("False" if negative else "True") or cond.get("type") == "Programmed"
    )


def _listener_field(doc: Document | None, name: object) -> str:
    listeners = ((doc.body.get("spec") if doc else None) or {}).get("listeners") or []
    for i, item in enumerate(listeners):
        if isinstance(item, dict) and item.get("name") == name:
            return f"spec.listeners[{i}]"
    return "spec.listeners"

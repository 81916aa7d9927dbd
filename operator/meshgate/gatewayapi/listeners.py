"""Each listener of a Gateway judged as the Gateway API asks: Accepted, ResolvedRefs, Conflicted,
and the route kinds it supports. Pure.

meshgate serves HTTP and HTTPS (TLS terminated) listeners, and HTTPRoutes and GRPCRoutes on
them (gRPC is HTTP/2, which both carry: h2c with prior knowledge, ALPN h2); and TLS listeners in
Passthrough mode, with TLSRoutes (routed by SNI, never terminated). TCP listeners are not
served: TCPRoute is in the experimental channel only. Listeners that share
a port must agree on the protocol and differ in hostname, else they are Conflicted and not served.
A certificate in another namespace needs a ReferenceGrant to the Gateway; a Secret that is
missing, of another kind, or without `tls.crt` and `tls.key` is an invalid certificate ref.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from meshgate.compile.snapshot import Secret

from .conditions import Condition, cond
from .grants import permitted
from .objects import GROUP, Gateway, Listener, ReferenceGrant, RouteKind

SUPPORTED_PROTOCOLS = ("HTTP", "HTTPS", "TLS")
HTTP_ROUTE = RouteKind(GROUP, "HTTPRoute")
GRPC_ROUTE = RouteKind(GROUP, "GRPCRoute")
# The route kinds an HTTP or HTTPS listener takes, in the order `supportedKinds` lists them.
HTTP_LISTENER_KINDS = (HTTP_ROUTE, GRPC_ROUTE)
TLS_ROUTE = RouteKind(GROUP, "TLSRoute")
# A TLS listener (Passthrough) takes TLSRoutes only.
TLS_LISTENER_KINDS = (TLS_ROUTE,)


@dataclass(frozen=True)
class ListenerVerdict:
    listener: Listener
    conditions: tuple[Condition, ...]  # Accepted, ResolvedRefs, Conflicted (Programmed: adapt)
    supported_kinds: tuple[RouteKind, ...]
    # The listener can carry routes: accepted and not conflicted (refs may still be unresolved).
    usable: bool
    # The proxy can serve it: usable and every reference resolved.
    servable: bool
    certificate: tuple[str, str] | None = None  # (namespace, name) of the served Secret

    @property
    def name(self) -> str:
        return self.listener.name


def judge_listeners(
    gw: Gateway,
    grants: tuple[ReferenceGrant, ...],
    secrets: Mapping[tuple[str, str], Secret],
) -> tuple[ListenerVerdict, ...]:
    gen = gw.meta.generation
    conflicts = _conflicts(gw.listeners)
    out = []
    for listener in gw.listeners:
        kinds, bad_kinds = _kinds(listener)
        supported = listener.protocol in SUPPORTED_PROTOCOLS
        conflict = conflicts.get(listener.name)
        if listener.protocol == "TLS" and listener.tls_mode != "Passthrough":
            accepted = cond(
                "Accepted", False, "UnsupportedValue",
                "a TLS listener is served in tls.mode Passthrough only (routed by SNI to "
                "TLSRoutes); use protocol HTTPS to terminate TLS",
                gen,
            )  # fmt: skip
            supported = False
            kinds = ()
        elif not supported:
            accepted = cond(
                "Accepted", False, "UnsupportedProtocol",
                f"protocol {listener.protocol} is not supported; meshgate serves HTTP, HTTPS "
                "and TLS (Passthrough)",
                gen,
            )  # fmt: skip
            kinds = ()
        elif conflict is not None:
            accepted = cond("Accepted", False, conflict[0], conflict[1], gen)
        else:
            accepted = cond("Accepted", True, "Accepted", "listener is valid", gen)
        conflicted = (
            cond("Conflicted", True, conflict[0], conflict[1], gen)
            if conflict is not None
            else cond("Conflicted", False, "NoConflicts", "no conflicts", gen)
        )
        certificate: tuple[str, str] | None = None
        resolved = cond("ResolvedRefs", True, "ResolvedRefs", "all references resolved", gen)
        certificate_ok = True
        if supported and listener.protocol == "HTTPS":
            problem, certificate = _certificate(gw, listener, grants, secrets)
            if problem is not None:
                certificate_ok = False
                resolved = cond("ResolvedRefs", False, problem[0], problem[1], gen)
        if bad_kinds and certificate_ok:  # a listener still serves the kinds it supports
            resolved = cond(
                "ResolvedRefs", False, "InvalidRouteKinds",
                "route kinds not supported: " + ", ".join(bad_kinds)
                + f"; this listener takes {' and '.join(k.kind for k in _all_kinds(listener))}"
                " (gateway.networking.k8s.io)",
                gen,
            )  # fmt: skip
        usable = accepted["status"] == "True" and bool(kinds)
        out.append(
            ListenerVerdict(
                listener=listener,
                conditions=(accepted, resolved, conflicted),
                supported_kinds=kinds,
                usable=usable,
                servable=usable and certificate_ok,
                certificate=certificate if certificate_ok else None,
            )
        )
    return tuple(out)


def _all_kinds(listener: Listener) -> tuple[RouteKind, ...]:
    """The route kinds a listener of this protocol can take."""
    return TLS_LISTENER_KINDS if listener.protocol == "TLS" else HTTP_LISTENER_KINDS


def _kinds(listener: Listener) -> tuple[tuple[RouteKind, ...], list[str]]:
    every = _all_kinds(listener)
    if listener.kinds is None:
        return every, []
    good = tuple(k for k in every if k in listener.kinds)
    bad = [f"{k.kind} ({k.group or 'core'})" for k in listener.kinds if k not in every]
    return good, bad


def _conflicts(listeners: tuple[Listener, ...]) -> dict[str, tuple[str, str]]:
    by_port: dict[int, list[Listener]] = defaultdict(list)
    for listener in listeners:
        by_port[listener.port].append(listener)
    out: dict[str, tuple[str, str]] = {}
    for port, group in by_port.items():
        if len({ln.protocol for ln in group}) > 1:
            for ln in group:
                out[ln.name] = (
                    "ProtocolConflict",
                    f"port {port} is used by listeners of different protocols",
                )
            continue
        hosts: dict[str | None, list[Listener]] = defaultdict(list)
        for ln in group:
            hosts[ln.hostname].append(ln)
        for host, same in hosts.items():
            if len(same) > 1:
                for ln in same:
                    out[ln.name] = (
                        "HostnameConflict",
                        f"listeners {', '.join(x.name for x in same)} share port {port} and "
                        f"hostname {host or '(any)'}",
                    )
    return out


def _certificate(
    gw: Gateway,
    listener: Listener,
    grants: tuple[ReferenceGrant, ...],
    secrets: Mapping[tuple[str, str], Secret],
) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """(problem (reason, message) or None, the first certificate's (namespace, name))."""
    if listener.tls_mode not in (None, "Terminate"):
        return ("InvalidTLSConfiguration", f"TLS mode {listener.tls_mode} is not supported"), None
    if not listener.certificate_refs:
        return ("InvalidCertificateRef", "an HTTPS listener needs a certificateRef"), None
    first: tuple[str, str] | None = None
    for ref in listener.certificate_refs:
        ns = ref.namespace or gw.meta.namespace
        if (ref.group, ref.kind) != ("", "Secret"):
            what = f"{ref.kind} ({ref.group or 'core'})"
            return ("InvalidCertificateRef", f"certificateRef {what} is not a Secret"), None
        if not permitted(
            grants,
            from_group=GROUP, from_kind="Gateway", from_namespace=gw.meta.namespace,
            to_group="", to_kind="Secret", to_namespace=ns, to_name=ref.name,
        ):  # fmt: skip
            return (
                "RefNotPermitted",
                f'secret "{ref.name}" is in namespace "{ns}" and no ReferenceGrant there allows '
                f'Gateways of namespace "{gw.meta.namespace}" to use it',
            ), None
        secret = secrets.get((ns, ref.name))
        if secret is None:
            return ("InvalidCertificateRef", f'secret "{ref.name}" not found in "{ns}"'), None
        if not {"tls.crt", "tls.key"} <= secret.keys or not secret.valid_tls:
            return (
                "InvalidCertificateRef",
                f'secret "{ref.name}" in "{ns}" holds no valid PEM certificate and key in '
                "tls.crt and tls.key",
            ), None
        first = first or (ns, ref.name)
    return None, first

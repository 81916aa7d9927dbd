"""PeerAuthentication: the modes a namespace's sidecars enforce, and what their callers must send.

`peer_authn` gives the inbound side's entries (mesh-wide, namespace-wide, per workload); the
proxy resolves the most specific one per pod (`meshproxy.peermodes`). `sends_plaintext` asks the
same question from the caller's side: a destination whose every ready endpoint runs DISABLE on
its target port takes plaintext only, so its callers' clusters must not speak mTLS to it. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from meshgate.api.v1alpha1.authorization_policy import AuthorizationPolicySpec
from meshgate.api.v1alpha1.peer_authentication import PeerAuthenticationSpec
from meshproxy import config as pc
from meshproxy.peermodes import PeerModes

from .index import Index
from .notes import Notes
from .snapshot import Resource

PA_KIND = "PeerAuthentication"


def peer_authn(
    namespace: str,
    index: Index,
    pas: tuple[Resource[PeerAuthenticationSpec], ...],
    report: Notes | None,
) -> list[pc.PeerAuthn]:
    """Mesh-wide, then namespace-wide (replacing it), then per-workload modes; UNSET inherits.
    Conflicts are reported when `report` is given (once per compile, by the namespace's own
    config); callers that only ask what a destination runs pass None."""
    operator_ns = index.snapshot.settings.operator_namespace
    mesh_mode: pc.MtlsMode = "PERMISSIVE"
    for scope in (operator_ns, namespace):
        wide = sorted(
            (p for p in pas if p.spec and p.meta.namespace == scope and not _selector(p.spec)),
            key=lambda p: p.meta.age_key,
        )
        if wide:
            assert wide[0].spec is not None
            mesh_mode = _mode(wide[0].spec.mtls.mode if wide[0].spec.mtls else "UNSET", mesh_mode)
            for loser in wide[1:]:
                if report is None:
                    break
                report.set(
                    PA_KIND, loser.meta, "Accepted", "False", "Conflicted",
                    f"PeerAuthentication {wide[0].meta.key} (older) already sets the "
                    f"{'mesh' if scope == operator_ns else 'namespace'}-wide mode",
                )  # fmt: skip
    out = [pc.PeerAuthn(selector=None, mode=mesh_mode)]
    for p in sorted(pas, key=lambda p: p.meta.age_key):
        if p.spec is None or p.meta.namespace != namespace or not _selector(p.spec):
            continue
        base = _mode(p.spec.mtls.mode if p.spec.mtls else "UNSET", mesh_mode)
        out.append(
            pc.PeerAuthn(
                selector=dict(_selector(p.spec)),
                mode=base,
                port_modes={
                    str(k): _mode(v.mode, base) for k, v in (p.spec.port_level_mtls or {}).items()
                },
            )
        )
    return out


def _selector(spec: PeerAuthenticationSpec | AuthorizationPolicySpec) -> dict[str, str]:
    return dict((spec.selector.match_labels if spec.selector else None) or {})


def _mode(mode: str, inherited: pc.MtlsMode) -> pc.MtlsMode:
    if mode in ("STRICT", "PERMISSIVE", "DISABLE"):
        return mode  # type: ignore[return-value]
    return inherited


def sends_plaintext(
    entries: list[pc.PeerAuthn], endpoints: Iterable[tuple[Mapping[str, str], int]]
) -> bool:
    """True when every (pod labels, target port) given resolves to DISABLE, and there is one."""
    inbound = pc.Inbound(peer_authn=entries)
    modes = [PeerModes.compile(inbound, labels).mode_for(port) for labels, port in endpoints]
    return bool(modes) and all(mode == "DISABLE" for mode in modes)

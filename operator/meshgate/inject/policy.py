"""Who gets a sidecar: the namespace label, the Pod's own opt-in or opt-out, and the exclusions.

Pure: a Pod dict and what is known of its namespace in, a `Decision` out. The webhook and the
offline CLI both ask here, so they can never disagree. This module must never import kopf or the
Kubernetes client, and never build the patch itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import names, podview
from .podview import Body
from .settings import InjectSettings


@dataclass(frozen=True)
class NamespaceInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.labels.get(names.INJECT_KEY) == names.NAMESPACE_ENABLED

    @property
    def pss_enforce(self) -> str | None:
        return self.labels.get(names.PSS_ENFORCE_LABEL)


@dataclass(frozen=True)
class Decision:
    inject: bool
    reason: str
    warnings: tuple[str, ...] = ()


def is_injected(pod: Body) -> bool:
    """True for a Pod that already carries our proxy (by label or by the container itself)."""
    if podview.labels(pod).get(names.INJECTED_LABEL) == "true":
        return True
    every = podview.containers(pod) + podview.init_containers(pod)
    return any(c.get("name") == names.PROXY_CONTAINER for c in every)


def _pod_choice(pod: Body) -> tuple[bool | None, list[str]]:
    """The Pod's own say: True, False or None (no say). The annotation wins over the label.

    The label form exists because a webhook's objectSelector can only see labels; see
    docs/injection.md.
    """
    warnings: list[str] = []
    for source, values in (
        ("annotation", podview.annotations(pod)),
        ("label", podview.labels(pod)),
    ):
        raw = values.get(names.INJECT_KEY)
        if raw is None:
            continue
        if raw in ("true", "false"):
            return raw == "true", warnings
        warnings.append(
            f'meshgate: {source} {names.INJECT_KEY}="{raw}" is ignored; use "true" or "false"'
        )
    return None, warnings


def decide(pod: Body, namespace: NamespaceInfo, settings: InjectSettings) -> Decision:
    if namespace.name in names.SYSTEM_NAMESPACES or namespace.name == settings.operator_namespace:
        return Decision(False, f"namespace {namespace.name} is never injected")
    if is_injected(pod):
        return Decision(False, "already injected")
    if names.GATEWAY_LABEL in podview.labels(pod):
        # Its own proxy already holds the sidecar's ports; a second proxy could not start.
        return Decision(False, "a meshgate gateway Pod is its own mesh proxy")
    choice, warnings = _pod_choice(pod)
    if choice is False:
        return Decision(False, "opted out by the Pod", tuple(warnings))
    if choice is None and not namespace.enabled:
        return Decision(False, "not opted in", tuple(warnings))
    if podview.spec(pod).get("hostNetwork"):
        warnings.append(
            "meshgate: Pod uses hostNetwork, so no sidecar was injected: its ports would collide "
            "with every other host-network proxy on the node"
        )
        return Decision(False, "hostNetwork", tuple(warnings))
    reason = "opted in by the Pod" if choice else f"namespace {namespace.name} is enabled"
    return Decision(True, reason, tuple(warnings))

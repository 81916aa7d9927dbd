"""The sidecar patch: a Pod (or pod template) in, the RFC 6902 JSON patch that meshes it out.

The one function both the admission webhook and `meshgate inject` call, so a Pod injected offline
and the same Pod injected by the API server are identical. Pure and deterministic: it must never
import kopf or the Kubernetes client, read the clock or the environment, or mutate its input.
An already injected Pod, or one the policy skips, yields an empty patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import names, podview, sidecar
from .jsonpatch_ops import Op, pointer
from .podview import Body
from .policy import Decision, NamespaceInfo, decide
from .settings import InjectSettings


@dataclass(frozen=True)
class Injection:
    """What injection does to one Pod: the patch, why, and what the user should hear."""

    ops: list[Op]
    decision: Decision
    warnings: tuple[str, ...]


def _add(path: str, value: Any) -> Op:
    return {"op": "add", "path": path, "value": value}


def _metadata_ops(pod: Body, settings: InjectSettings) -> list[Op]:
    wanted = {
        "labels": {names.INJECTED_LABEL: "true"},
        "annotations": {names.INJECTED_VERSION_ANNOTATION: settings.injected_version},
    }
    meta = pod.get("metadata")
    if meta is None:
        return [_add("/metadata", wanted)]
    ops: list[Op] = []
    for field, entries in wanted.items():
        if meta.get(field) is None:
            ops.append(_add(pointer("metadata", field), entries))
        else:
            ops += [_add(pointer("metadata", field, k), v) for k, v in entries.items()]
    return ops


def _env_ops(
    container: Mapping[str, Any], path: tuple[str | int, ...]
) -> tuple[list[Op], list[str]]:
    present = podview.env_names(container)
    name = container.get("name")
    if present & {"HTTP_PROXY", "http_proxy"}:
        # The app chose its own proxy; overriding it could break it, so it is left alone and
        # the user is told its traffic may bypass the mesh.
        return [], [
            f"meshgate: container {name} sets HTTP_PROXY itself, so it was left unchanged; "
            f"its traffic bypasses the mesh unless that points at {sidecar.PROXY_URL}"
        ]
    missing = [e for e in sidecar.app_env() if e["name"] not in present]
    if container.get("env") is None:
        return [_add(pointer(*path, "env"), missing)], []
    return [_add(pointer(*path, "env", "-"), e) for e in missing], []


def _app_env_ops(pod: Body, settings: InjectSettings) -> tuple[list[Op], list[str]]:
    ops: list[Op] = []
    warnings: list[str] = []
    groups: list[tuple[str, list[Mapping[str, Any]]]] = [("containers", podview.containers(pod))]
    # App init containers run after the proxy only when it is a native sidecar; before 1.29 they
    # run before it, where a proxy URL would only make their requests fail.
    if settings.native_sidecar:
        groups.insert(0, ("initContainers", podview.init_containers(pod)))
    for field, containers in groups:
        for i, c in enumerate(containers):
            if c.get("name") in names.OUR_CONTAINERS:
                continue
            more_ops, more_warnings = _env_ops(c, ("spec", field, i))
            ops += more_ops
            warnings += more_warnings
    return ops, warnings


def _list_ops(pod: Body, field: str, items: list[dict[str, Any]], *, front: bool) -> list[Op]:
    if not items:
        return []
    if podview.spec(pod).get(field) is None:
        return [_add(pointer("spec", field), items)]
    if front:
        return [_add(pointer("spec", field, i), item) for i, item in enumerate(items)]
    return [_add(pointer("spec", field, "-"), item) for item in items]


def sidecar_patch(pod: Body, settings: InjectSettings) -> tuple[list[Op], list[str]]:
    """The patch that adds the sidecar, whatever the policy says. Use `inject` unless testing."""
    annotations = podview.annotations(pod)
    proxy, warnings = sidecar.proxy_container(annotations, settings)
    env_ops, env_warnings = _app_env_ops(pod, settings)
    warnings += env_warnings

    first_inits: list[dict[str, Any]] = []
    if annotations.get(names.CAPTURE_KEY) == names.CAPTURE_IPTABLES:
        ports, port_warnings = sidecar.capture_ports(annotations)
        warnings += port_warnings
        first_inits.append(sidecar.capture_container(ports, settings))
    elif (capture := annotations.get(names.CAPTURE_KEY)) is not None:
        warnings.append(
            f'meshgate: {names.CAPTURE_KEY}="{capture}" is unknown; only "iptables" is; '
            "no capture was added"
        )
    # The native sidecar goes before the app's init containers so it is up before they run.
    if settings.native_sidecar:
        first_inits.append(proxy)

    ops = _metadata_ops(pod, settings)
    # Env ops address init containers by their current index, so they come before the inserts.
    ops += env_ops
    ops += _list_ops(pod, "volumes", sidecar.volumes(podview.service_account(pod)), front=False)
    ops += _list_ops(pod, "initContainers", first_inits, front=True)
    if not settings.native_sidecar:
        ops += _list_ops(pod, "containers", [proxy], front=False)
    return ops, warnings


def _capture_refused_warning(pod: Body, namespace: NamespaceInfo) -> list[str]:
    asks = podview.annotations(pod).get(names.CAPTURE_KEY) == names.CAPTURE_IPTABLES
    if asks and namespace.pss_enforce in ("restricted", "baseline"):
        return [
            f"meshgate: namespace {namespace.name} enforces Pod Security level "
            f'"{namespace.pss_enforce}", which refuses the iptables capture init container '
            f"(root, NET_ADMIN, NET_RAW); remove {names.CAPTURE_KEY} to rely on HTTP_PROXY"
        ]
    return []


def inject(pod: Body, namespace: NamespaceInfo, settings: InjectSettings) -> Injection:
    """Policy, then patch: the single entry point of the webhook and the offline CLI."""
    decision = decide(pod, namespace, settings)
    if not decision.inject:
        return Injection([], decision, decision.warnings)
    ops, warnings = sidecar_patch(pod, settings)
    warnings = [*decision.warnings, *_capture_refused_warning(pod, namespace), *warnings]
    return Injection(ops, decision, tuple(warnings))

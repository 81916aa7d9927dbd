"""Read-only accessors over a raw Pod (or pod template) dict, tolerant of missing fields.

Raw bodies arrive from the API server, from YAML files and from tests, with any field absent or
null. This module must never modify what it is given.
"""

# No `from __future__ import annotations`: it would clash with the `annotations` accessor.
from collections.abc import Mapping
from typing import Any

Body = Mapping[str, Any]


def metadata(pod: Body) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def spec(pod: Body) -> Mapping[str, Any]:
    return pod.get("spec") or {}


def labels(pod: Body) -> Mapping[str, str]:
    return metadata(pod).get("labels") or {}


def annotations(pod: Body) -> Mapping[str, str]:
    return metadata(pod).get("annotations") or {}


def containers(pod: Body) -> list[Mapping[str, Any]]:
    return list(spec(pod).get("containers") or [])


def init_containers(pod: Body) -> list[Mapping[str, Any]]:
    return list(spec(pod).get("initContainers") or [])


def service_account(pod: Body) -> str:
    s = spec(pod)
    # `serviceAccount` is the deprecated alias some old manifests still carry.
    return str(s.get("serviceAccountName") or s.get("serviceAccount") or "default")


def env_names(container: Mapping[str, Any]) -> set[str]:
    return {str(e.get("name")) for e in container.get("env") or []}

"""The golden pod shapes as (pod, namespace, settings) for every test that walks them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from meshgate.inject.policy import NamespaceInfo
from meshgate.inject.settings import InjectSettings

from .golden import load_case

# A fixed version so a release does not rewrite every golden file.
BASE_SETTINGS = InjectSettings(injected_version="0.0.0-test")


@dataclass(frozen=True)
class Case:
    name: str
    pod: dict[str, Any]
    namespace: NamespaceInfo
    settings: InjectSettings
    inject_twice: bool


def case(name: str) -> Case:
    data = load_case(name)
    ns = data["namespace"]
    return Case(
        name=name,
        pod=data["pod"],
        namespace=NamespaceInfo(ns["name"], ns.get("labels") or {}),
        settings=replace(BASE_SETTINGS, **(data.get("settings") or {})),
        inject_twice=bool(data.get("inject_twice")),
    )

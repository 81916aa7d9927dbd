"""An incremental `Compiler`, fed one changed snapshot after another, gives exactly what
`compile_snapshot` (nothing kept) gives for each snapshot: configs, generated-object inputs,
statuses and retained Gateways, for random change sequences over every golden case.

Snapshots are built either fresh each time (unchanged objects are only equal) or with unchanged
objects carried over as the operator's parse cache does (the very same object), so both ways the
compiler finds changes are exercised.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from golden_cases import case_names, documents, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshgate.compile import Compiler, CompileResult, compile_snapshot
from meshgate.compile.changes import COLLECTIONS
from meshgate.compile.same import same
from meshgate.compile.snapshot import GatewayRuntime, Snapshot

CASES = case_names()
KINDS_EDITED = (
    "Route",
    "HTTPRoute",
    "Service",
    "EndpointSlice",
    "Pod",
    "Namespace",
    "Gateway",
    "DestinationRule",
    "RetryPolicy",
)


def _first(items: list[Any]) -> Any:
    return items[0] if items else None


def edit(doc: dict[str, Any], choice: int) -> None:
    """One small, valid-or-invalid edit of a document, chosen by `choice`."""
    kind = doc.get("kind")
    spec = doc.setdefault("spec", {}) if kind not in ("EndpointSlice", "Pod", "Namespace") else {}
    meta = doc.setdefault("metadata", {})
    if kind in ("Route", "HTTPRoute"):
        rules = spec.get("rules") or []
        rule = _first(rules) or {}
        match = _first(rule.get("matches") or []) or {}
        backend = _first(rule.get("backendRefs") or []) or {}
        option = choice % 6
        if option == 0 and match.get("path"):
            match["path"]["value"] = f"/edited{choice}"
        elif option == 1 and backend:
            backend["port"] = int(backend.get("port") or 80) + 1
        elif option == 2 and spec.get("parentRefs"):
            spec["parentRefs"] = spec["parentRefs"][:-1] or [{"name": f"gw{choice}"}]
        elif option == 3:
            spec["hostnames"] = [f"h{choice % 3}.example.com"]
        elif option == 4 and rules:
            spec["rules"] = [*rules, copy.deepcopy(rules[0])]
        else:
            meta.setdefault("annotations", {})["meshgate.io/description"] = f"d{choice}"
    elif kind == "Service":
        ports = spec.get("ports") or []
        if ports and choice % 2:
            ports[0]["port"] = int(ports[0].get("port") or 80) + 1
        else:
            spec["ports"] = [*ports, {"name": f"p{choice}", "port": 9000 + choice % 50}]
    elif kind == "EndpointSlice":
        endpoints = doc.get("endpoints") or []
        if endpoints:
            cond = endpoints[0].setdefault("conditions", {})
            cond["ready"] = cond.get("ready") is False
    elif kind in ("Pod", "Namespace"):
        labels = meta.setdefault("labels", {})
        key = "meshgate.io/inject" if kind == "Namespace" else _first(sorted(labels)) or "app"
        labels[key] = "enabled" if labels.get(key) != "enabled" else f"v{choice}"
    elif kind == "DestinationRule":
        if choice % 2:
            spec["host"] = f"{spec.get('host', 'orders')}-edited"
        else:
            simple = "RANDOM" if choice % 4 else "LEAST_REQUEST"
            spec["trafficPolicy"] = {"loadBalancer": {"simple": simple}}
    elif kind == "RetryPolicy":
        if choice % 2 and spec.get("targetRefs"):
            spec["targetRefs"] = spec["targetRefs"][:-1]
        else:
            spec["attempts"] = 1 + choice % 5
    elif kind == "Gateway":
        listeners = spec.get("listeners") or []
        if listeners and choice % 2:
            listeners[0]["hostname"] = f"*.edited{choice}.example.com"
        else:
            spec["replicas"] = 1 + choice % 3
    meta["generation"] = int(meta.get("generation") or 1) + 1


def carried_over(previous: Snapshot | None, snap: Snapshot) -> Snapshot:
    """The snapshot with every object equal to one of `previous` replaced by that very object,
    as the operator's parse cache hands them back."""
    if previous is None:
        return snap
    fields: dict[str, Any] = {}
    for name in COLLECTIONS:
        old = {(o.meta.namespace, o.meta.name): o for o in getattr(previous, name)}
        fields[name] = tuple(
            o if (p := old.get((o.meta.namespace, o.meta.name))) is None or not same(p, o) else p
            for o in getattr(snap, name)
        )
    return dataclasses.replace(snap, **fields)


def assert_same_result(got: CompileResult, want: CompileResult) -> None:
    assert [g.gateway.key for g in got.gateways] == [g.gateway.key for g in want.gateways]
    for g, w in zip(got.gateways, want.gateways, strict=True):
        assert g.config_json == w.config_json
        assert g == w
    assert [m.namespace for m in got.meshes] == [m.namespace for m in want.meshes]
    for m, w in zip(got.meshes, want.meshes, strict=True):
        assert m.config_json == w.config_json
    assert got.retained == want.retained
    got_status = {s.key: s.body() for s in got.statuses}
    want_status = {s.key: s.body() for s in want.statuses}
    assert got_status == want_status


step = st.tuples(
    st.sampled_from(("delete", "restore", "edit", "touch", "runtime")),
    st.integers(min_value=0, max_value=10_000),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    case=st.sampled_from(CASES),
    steps=st.lists(step, min_size=1, max_size=8),
    carry=st.booleans(),
)
def test_incremental_compile_equals_the_reference_after_every_change(
    case: str, steps: list[tuple[str, int]], carry: bool
) -> None:
    docs = documents(case)
    removed: list[dict[str, Any]] = []
    compiler = Compiler()
    runtime: dict[str, GatewayRuntime] = {}
    previous: Snapshot | None = None
    for n, (action, choice) in enumerate([("touch", 0), *steps]):
        if action == "delete" and docs:
            removed.append(docs.pop(choice % len(docs)))
        elif action == "restore" and removed:
            docs.append(removed.pop(choice % len(removed)))
        elif action == "edit":
            editable = [d for d in docs if d.get("kind") in KINDS_EDITED]
            if editable:
                edit(editable[choice % len(editable)], choice // 7)
        elif action == "runtime" and previous is not None and previous.gateways:
            gw = previous.gateways[choice % len(previous.gateways)].meta.key
            runtime[gw] = GatewayRuntime(
                ready_replicas=choice % 3, addresses=(("IPAddress", "198.19.0.9"),)
            )
        snap = snapshot(copy.deepcopy(docs))
        snap = dataclasses.replace(snap, gateway_runtime=dict(runtime))
        if carry:
            snap = carried_over(previous, snap)
        got = compiler.compile(snap)
        assert_same_result(got, compile_snapshot(snap))
        if n and action == "touch":
            # Nothing moved: nothing is compiled again.
            assert compiler.stats.gateways_compiled == 0
            assert compiler.stats.meshes_compiled == 0
        previous = snap

"""One level-based reconcile: read the cluster, compile, render, apply, write status.

The whole desired state is rebuilt every time from the operator's store of the cluster; nothing
here depends on which event caused the run. The store is filled by a full listing on the first
run and on every forced run (the periodic resync), and kept current in between by watch events
and by the server's answers to this reconcile's own writes, so a change costs no list calls.
Synchronous (the Kubernetes client is), so the event loop runs it in a worker thread. State kept
between runs: the store, the parsed objects by resourceVersion, and the applied hashes.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from meshgate.compile import Compiler
from meshgate.compile.paths import MESH_CONFIG_MAP, gateway_config_map
from meshgate.kube.certificate_copies import sync_certificate_copies
from meshgate.kube.cluster_state import ParseCache, read_state
from meshgate.kube.edge_secrets import EdgeSecrets, with_edge_secrets
from meshgate.kube.gatewayapi_status import sync_gateway_api_statuses
from meshgate.kube.listing import relist
from meshgate.kube.outputs import sync_outputs
from meshgate.kube.rest import Rest
from meshgate.kube.status import StatusLane, StatusResult, sync_statuses
from meshgate.kube.store import Store
from meshgate.render import render_gateway, render_gateway_secrets, render_mesh
from meshgate.runtime import Wake
from meshgate.settings import Settings

from .metrics import Metrics

log = logging.getLogger("meshgate.reconcile")


# While a resync's listing runs beside the reconciles, how often the runtime looks whether it ended.
RELIST_POLL = 0.25
# The longest the status pass waits at once for a run to end (`Reconciler._yield_to_run`).
YIELD_SECONDS = 1.0


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


# Told, from the reconcile's thread, which configs were really written this pass (target ->
# version; targets `gateway/<ns>/<name>`, `mesh/<ns>`), when the earliest event folded into the
# pass was observed and when the writes ended (both time.monotonic()).
ConfigsWritten = Callable[[dict[str, str], float, float], None]


@dataclass
class Reconciler:
    """The routing controller: Routes, Gateways, policies -> proxy configs and gateway objects."""

    name: ClassVar[str] = "routing"

    rest: Rest
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    applied: dict[tuple[str, str, str], str] = field(default_factory=dict)
    edge: EdgeSecrets = field(default_factory=EdgeSecrets)  # the generated edge Secrets
    store: Store = field(default_factory=Store)
    parsed: ParseCache = field(default_factory=ParseCache)
    # Keeps what it compiled: a change recompiles only the configs that depend on it.
    compiler: Compiler = field(default_factory=Compiler)
    listed: bool = False  # the store has been filled by a full listing at least once
    on_written: list[ConfigsWritten] = field(default_factory=list)
    # When set, meshgate statuses are written in their own thread (`start_status_lane`).
    lane: StatusLane | None = None
    # A resync's listing, running in its own thread (`reconcile`); its error, if it failed.
    relisting: threading.Thread | None = None
    relist_error: BaseException | None = None
    _running_in: threading.Thread | None = None  # the thread of the current or last run
    # target -> (the compiled output, the objects rendered from it), as the last run made them
    rendered: dict[str, tuple[object, list[dict[str, Any]]]] = field(default_factory=dict)
    # Set while no run is compiling or writing configs (`_yield_to_run`).
    idle: threading.Event = field(default_factory=_set_event)

    def start_status_lane(self, rate: float = 50.0) -> None:
        """Write statuses off the reconcile path: a cold start's status for every Route then
        never holds the next change's configs back."""

        def stored_of(key: tuple[str, str, str]) -> tuple[dict[str, Any], str, str] | None:
            body = self.store.get(*key)
            if body is None:
                return None
            meta = body.get("metadata") or {}
            return body.get("status") or {}, meta.get("uid", ""), meta.get("resourceVersion", "")

        self.lane = StatusLane(self.rest, stored_of, rate=rate, on_written=self.store.record)
        self.compiler.pause_statuses = self._yield_to_run

    def _yield_to_run(self) -> None:
        """Called by the status pass between Routes. In the lane's thread, while a run compiles
        and writes configs, the pass waits for it (a second at most): both need the
        interpreter, and at 10,000 Routes the pass of the previous change took as much CPU as
        the next change's compile, which then took twice as long. Configs first."""
        if not self.idle.is_set() and threading.current_thread() is not self._running_in:
            self.idle.wait(YIELD_SECONDS)

    def reconcile(self, wake: Wake) -> float | None:
        """The runtime's entry: the store is already current, so what changed needs no reading;
        only the resync (and the runtime's first run) lists everything again.

        The first listing is part of the first run. A resync's listing runs in its own thread
        instead: done in the run, it held every change that came meanwhile behind it (the
        relist at 1,000 Routes took 2-3 s on this machine under load, the p99 of a change). The
        store merges a listing with the watch events by resourceVersion, so runs read it
        meanwhile; the forced run re-applies everything at once, and the first run after the
        listing ends compiles what it repaired."""
        if self.relisting is not None:
            if self.relisting.is_alive():
                if wake.changed or wake.force:
                    self.run(force=wake.force, observed_at=wake.observed_at, listing=False)
                return RELIST_POLL
            self._relisted()
            self.run(force=wake.force, observed_at=wake.observed_at, listing=False)
            return None
        if wake.force and self.listed:
            self.relisting = threading.Thread(
                target=self._relist, name="meshgate-relist", daemon=True
            )
            self.relisting.start()
            self.run(force=True, observed_at=wake.observed_at, listing=False)
            return RELIST_POLL
        self.run(force=wake.force, observed_at=wake.observed_at)
        return None

    def _relist(self) -> None:
        try:
            relist(self.rest, self.settings, self.store)
        except BaseException as exc:  # reported by the run that finds the listing ended
            self.relist_error = exc

    def _relisted(self) -> None:
        """In the first run after a resync's listing ended."""
        self.relisting = None
        error, self.relist_error = self.relist_error, None
        if error is not None:
            log.warning("resync listing failed (%s); the next resync lists again", error)
            return
        _HEAP.settle()

    def close(self) -> None:
        """Called once when the operator stops."""
        if self.lane is not None:
            self.lane.close()

    def run(
        self, *, force: bool = False, observed_at: float | None = None, listing: bool = True
    ) -> dict[str, Any]:
        """`listing=False`: a forced run that re-applies everything but reads the store as it is
        (its listing runs elsewhere)."""
        started = time.monotonic()
        self.metrics.reconciles += 1
        self._running_in = threading.current_thread()
        self.idle.clear()
        try:
            summary = self._run(
                force=force,
                observed_at=started if observed_at is None else observed_at,
                listing=listing,
            )
        except Exception:
            self.metrics.errors += 1
            log.exception("reconcile failed; the last applied state stays in place")
            raise
        finally:
            self.idle.set()
            self.metrics.observe(time.monotonic() - started)
        if summary["errors"]:
            self.metrics.errors += 1
        else:
            self.metrics.last_success = time.time()
        summary["seconds"] = round(time.monotonic() - started, 4)
        return summary

    def _run(self, *, force: bool, observed_at: float, listing: bool) -> dict[str, Any]:
        # Where a run's time goes, in its log line: reading the store, compiling, writing.
        phases: dict[str, float] = {}
        mark = time.monotonic()
        if (force and listing) or not self.listed:
            relist(self.rest, self.settings, self.store)
            self.listed = True
            state = read_state(self.store, self.settings, self.parsed)
            _collect_all()
        else:
            state = read_state(self.store, self.settings, self.parsed)
        phases["read"], mark = time.monotonic() - mark, time.monotonic()
        result = self.compiler.compile(with_edge_secrets(self.rest, state.snapshot))
        phases["compile"], mark = time.monotonic() - mark, time.monotonic()
        desired: list[dict[str, Any]] = []
        sizes: dict[str, int] = {}
        rendered: dict[str, tuple[object, list[dict[str, Any]]]] = {}
        for gw in result.gateways:
            target = f"gateway/{gw.gateway.key}"
            desired += self._render(
                rendered, target, gw, lambda o: render_gateway(o, self.settings)
            )
            sizes[target] = len(gw.config_json)
        for mesh in result.meshes:
            target = f"mesh/{mesh.namespace}"
            desired += self._render(rendered, target, mesh, render_mesh)
            sizes[target] = len(mesh.config_json)
        self.rendered = rendered
        store = self.store
        # Before the configs that name their files.
        edge = self.edge.sync(
            self.rest,
            [s for gw in result.gateways for s in render_gateway_secrets(gw)],
            result.retained,
            force=force,
        )
        for error in edge.errors.values():
            log.warning("edge Secret: %s", error)
        # Before the Deployments that mount them.
        copy_errors = (
            sync_certificate_copies(self.rest, store, state.adapted.certificate_copies)
            if self.settings.gateway_api
            else []
        )
        outputs = sync_outputs(
            self.rest,
            desired,
            state.outputs,
            result.retained,
            self.applied,
            force=force,
            on_written=lambda obj: store.record(str(obj.get("kind", "")), obj),
            on_deleted=lambda key: store.forget(*key),
        )
        phases["write"], mark = time.monotonic() - mark, time.monotonic()
        self._tell_written(result, outputs.applied, observed_at)
        overrides: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        for owner, error in outputs.errors.items():
            if "/" in owner:
                ns, name = owner.split("/", 1)
                overrides[("Gateway", ns, name)] = ("Programmed", "WriteFailed", error)
        adapted = state.adapted.compiled_keys
        if self.lane is not None:
            self.lane.submit(
                lambda: tuple(s for s in result.statuses if s.key not in adapted), overrides
            )
            statuses = StatusResult()
        else:
            statuses = sync_statuses(
                self.rest,
                tuple(s for s in result.statuses if s.key not in adapted),
                state.statuses,
                state.uids,
                overrides,
                on_written=store.record,
            )
        if state.adapted.gateways and any(k[0] == "Service" for k in outputs.applied):
            # A gateway Service written just now has its address, which the Gateway API
            # Gateway reports (and its Programmed waits for); the server's answer is already in
            # the store, and its watch event will not count as a change.
            state = read_state(self.store, self.settings, self.parsed)
        gateway_api = sync_gateway_api_statuses(
            self.rest,
            state.adapted.statuses,
            state.gateway_api_statuses,
            on_written=store.record,
        )
        statuses.written += gateway_api.written
        statuses.errors += gateway_api.errors
        self.metrics.writes += len(outputs.applied)
        self.metrics.deletes += len(outputs.deleted)
        self.metrics.status_writes += statuses.written
        if self.lane is not None:
            self.metrics.status_writes = self.lane.written
        self.metrics.config_bytes = sizes
        summary = {
            "applied": [f"{k}/{ns}/{n}" for k, ns, n in outputs.applied],
            "deleted": [f"{k}/{ns}/{n}" for k, ns, n in outputs.deleted],
            "unchanged": outputs.unchanged,
            "status_written": statuses.written,
            "events": statuses.events,
            "errors": list(outputs.errors.values())
            + statuses.errors
            + list(edge.errors.values())
            + copy_errors,
            "phase_seconds": {k: round(v, 4) for k, v in phases.items()},
            "versions": {
                **{f"gateway/{g.gateway.key}": g.version for g in result.gateways},
                **{f"mesh/{m.namespace}": m.version for m in result.meshes},
            },
        }
        if outputs.applied or outputs.deleted or statuses.written or summary["errors"]:
            log.info("reconciled: %s", json.dumps(summary, sort_keys=True))
        # What this run keeps (the compiler's stages, new bodies in the store) joins the frozen
        # heap too: left young, the collector walked the kept stages again at every full
        # collection of the next compile (in process at 10,000 Routes, a one-Route change: 0.79 s
        # CPU left young, 0.45 s frozen). The youngest generation is collected first, so a cycle
        # that just died there is freed, not frozen. Collecting the middle one too was 7-12% of
        # the reconcile thread at 1,000 Routes (py-spy), and a full collection 60 ms a run; the
        # cycles that die frozen instead are bounded by `_FrozenHeap`'s growth rule.
        gc.collect(0)
        gc.freeze()
        return summary

    def _render(
        self,
        into: dict[str, tuple[object, list[dict[str, Any]]]],
        target: str,
        output: Any,
        render: Callable[[Any], list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """The objects of one compiled output: those rendered last run while the compiler kept
        the very same output. They still carry the content hash `sync_outputs` gave them, so a
        kept config is neither encoded nor hashed again (at 1,000 Routes the kept sidecar
        config's hash was a tenth of a one-Route change's reconcile)."""
        kept = self.rendered.get(target)
        objects = kept[1] if kept is not None and kept[0] is output else render(output)
        into[target] = (output, objects)
        return objects

    def _tell_written(
        self, result: Any, applied: list[tuple[str, str, str]], observed_at: float
    ) -> None:
        if not self.on_written:
            return
        written_at = time.monotonic()
        configs = {("ConfigMap", key[1], key[2]) for key in applied if key[0] == "ConfigMap"}
        written = {
            f"gateway/{g.gateway.key}": g.version
            for g in result.gateways
            if ("ConfigMap", g.gateway.namespace, gateway_config_map(g.gateway.name)) in configs
        }
        written.update(
            (f"mesh/{m.namespace}", m.version)
            for m in result.meshes
            if ("ConfigMap", m.namespace, MESH_CONFIG_MAP) in configs
        )
        if not written:
            return
        for subscriber in self.on_written:
            try:
                subscriber(written, observed_at, written_at)
            except Exception:  # a subscriber's bug must not fail the reconcile
                log.exception("a configs-written subscriber failed")


def _collect_all() -> None:
    """After the first listing. The store and the parsed objects live until the next listing.
    Left to the cyclic GC, every full collection during a compile walks all of them again
    (py-spy: 40% of a 1,000-Route reconcile); frozen, they are still freed by reference counting
    when replaced, and the collector scans only what each reconcile allocates."""
    _HEAP.collect_all()


class _FrozenHeap:
    """When the frozen heap is collected in full again: once the heap has grown by a quarter
    since the last full collection (the rule CPython itself applies to its oldest generation),
    measured in allocated blocks (a walk of the allocator's arenas: a millisecond at 10,000
    Routes, where counting the frozen objects walks millions of them).

    A full collection walks every object the operator keeps: 0.1-0.7 s at 1,000 Routes and
    several seconds at 10,000 (py-spy), holding the interpreter, so every change that came
    meanwhile waited for it. Done at every resync, it was the slowest change of a benchmark.
    What it finds is only cycles that died frozen (store bodies and parsed objects have none,
    and each reconcile collects its young cycles before freezing); they are bounded by this
    rule to a quarter of the kept heap."""

    GROWTH = 1.25

    def __init__(self) -> None:
        self.after_full = 0  # allocated blocks right after the last full collection

    def collect_all(self) -> None:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.after_full = sys.getallocatedblocks()

    def settle(self) -> None:
        """After a resync's listing: its new bodies join the frozen heap."""
        gc.collect(1)
        gc.freeze()
        if sys.getallocatedblocks() > self.after_full * self.GROWTH:
            self.collect_all()


_HEAP = _FrozenHeap()

"""One level-based identity reconcile: read the cluster, plan, write, delete, warn.

Everything desired is rebuilt from what the API server says now; which event woke us does not
matter. Identity Secrets and NetworkPolicies are written with server-side apply (field manager
`meshgate`) and only ours (by label) are ever deleted. Synchronous: the event loop runs it in a
worker thread. The only state kept between runs is which expiry warnings were already posted,
so a warning is posted once per certificate, not once per reconcile.

Log lines name Secrets, identities and reasons; they must never carry a Secret body or key.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from meshgate.certs.ca_rotation import step_ca_rotation
from meshgate.certs.errors import CertError
from meshgate.kube.rest import CORE_EVENT, NETWORK_POLICY, SECRET, KubeError, NotFound, Rest
from meshgate.runtime import Wake
from meshgate.settings import IdentitySettings, Settings

from .ca_store import load_or_create_ca
from .cluster import IdentityState, read_state
from .events import ca_rotation_event, expiry_event
from .issue import identity_secret_body
from .meshed import meshed_namespaces, wanted_identities
from .network_policy import NetworkPolicyBody, strict_network_policies
from .plan import CaRef, IdentityPlan, PlanPolicy, plan_identities

log = logging.getLogger("meshgate.identity")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    next_check: timedelta
    issued: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    policies_applied: list[str] = field(default_factory=list)
    policies_deleted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ca_rotation: list[str] = field(default_factory=list)


# A pass that left errors runs again this soon, whatever the certificates say.
RETRY_AFTER_ERRORS = 30.0


@dataclass
class IdentityReconciler:
    """The identity controller: CA, workload identity Secrets, STRICT NetworkPolicies."""

    name: ClassVar[str] = "identity"

    kube: Rest
    settings: Settings
    identity: IdentitySettings
    clock: Callable[[], datetime] = _utcnow
    # (namespace, secret, not-after) of every warning already posted by this process.
    warned: set[tuple[str, str, datetime]] = field(default_factory=set)
    # Since when every pass found every identity Secret current (None: the last one did not);
    # a CA rotation step waits its overlap from here. Lost on restart: the wait starts again.
    settled_since: datetime | None = None

    def reconcile(self, wake: Wake) -> float | None:
        """The runtime's entry. Every pass lists what it reads, so `wake` changes nothing; the
        answer is when the next certificate comes due (renewal is this wake-up, not a timer)."""
        outcome = self.run()
        wait = outcome.next_check.total_seconds()
        return min(wait, RETRY_AFTER_ERRORS) if outcome.errors else wait

    def run(self) -> Outcome:
        now = self.clock()
        ca = load_or_create_ca(
            self.kube,
            namespace=self.settings.operator_namespace,
            name=self.identity.ca_secret,
            supplied=self.identity.ca_supplied,
            trust_domain=self.settings.trust_domain,
            now=now,
        )
        state = read_state(
            self.kube,
            namespaces=self.settings.namespaces,
            operator_namespace=self.settings.operator_namespace,
            gateway_api=self.settings.gateway_api,
        )
        plan = plan_identities(
            wanted_identities(
                trust_domain=self.settings.trust_domain,
                namespaces=state.namespaces,
                service_accounts=state.service_accounts,
                pods=state.pods,
                gateways=state.gateways,
            ),
            state.identity_secrets,
            ca,
            PlanPolicy(
                trust_domain=self.settings.trust_domain,
                validity=self.identity.workload_validity,
                workload_warning=self.identity.workload_warning,
                ca_warning=self.identity.ca_warning,
                min_check_interval=self.identity.min_check_interval,
            ),
            now,
        )
        outcome = Outcome(next_check=plan.next_check)
        self._write_identities(plan, ca, now, outcome)
        self._warn(plan, state, ca, now, outcome)
        self._rotate_ca(plan, outcome, now)
        self._sync_policies(state, outcome)
        if (
            outcome.issued
            or outcome.deleted
            or outcome.policies_applied
            or outcome.errors
            or outcome.ca_rotation
        ):
            log.info(
                "identity reconcile: issued %s, deleted %s, policies applied %s, "
                "policies deleted %s, errors %s; next check in %.0fs",
                outcome.issued,
                outcome.deleted,
                outcome.policies_applied,
                outcome.policies_deleted,
                outcome.errors,
                outcome.next_check.total_seconds(),
            )
        return outcome

    def _write_identities(
        self, plan: IdentityPlan, ca: CaRef, now: datetime, outcome: Outcome
    ) -> None:
        for decision in plan.issue:
            want = decision.identity
            where = f"{want.namespace}/{want.secret_name}"
            try:
                body = identity_secret_body(
                    want,
                    ca.ca,
                    ca.bundle,
                    trust_domain=self.settings.trust_domain,
                    now=now,
                    validity=self.identity.workload_validity,
                )
                self.kube.apply(dict(body))
            except (CertError, KubeError, NotFound) as exc:
                # All are key-free: CertError by contract, the Kubernetes errors by construction.
                outcome.errors.append(f"issuing {where}: {exc}")
                outcome.next_check = min(outcome.next_check, self.identity.min_check_interval)
                continue
            outcome.issued.append(f"{where} ({want.spiffe_id}: {decision.reason})")
        for gone in plan.delete:
            try:
                self.kube.delete(SECRET, gone.namespace, gone.name)
            except KubeError as exc:
                outcome.errors.append(f"deleting {gone.namespace}/{gone.name}: {exc}")
                continue
            outcome.deleted.append(f"{gone.namespace}/{gone.name}")

    def _warn(
        self, plan: IdentityPlan, state: IdentityState, ca: CaRef, now: datetime, outcome: Outcome
    ) -> None:
        for warning in plan.warnings:
            key = (warning.namespace, warning.secret, warning.not_after)
            if key in self.warned:
                continue
            live = state.identity_secrets.get((warning.namespace, warning.secret))
            if (warning.namespace, warning.secret) == (ca.namespace, ca.secret):
                live = self.kube.read(SECRET, ca.namespace, ca.secret)
            uid = ((live or {}).get("metadata") or {}).get("uid")
            event = expiry_event(warning, now=now, uid=uid, instance=socket.gethostname())
            try:
                self.kube.create(CORE_EVENT, warning.namespace, event)
            except (KubeError, NotFound) as exc:
                outcome.errors.append(f"posting expiry warning: {exc}")
                continue
            self.warned.add(key)
            outcome.warnings.append(warning.message)
            log.warning("%s/%s: %s", warning.namespace, warning.secret, warning.message)

    def _rotate_ca(self, plan: IdentityPlan, outcome: Outcome, now: datetime) -> None:
        """Take the next step of a CA rotation when one is due (certs/ca_rotation.py)."""
        if self.identity.ca_supplied:
            return  # the user's CA: never written here
        if plan.issue or outcome.errors:
            self.settled_since = None
        elif self.settled_since is None:
            self.settled_since = now
        namespace, name = self.settings.operator_namespace, self.identity.ca_secret
        body = self.kube.read(SECRET, namespace, name)
        if body is None:
            return
        try:
            step = step_ca_rotation(
                body,
                settled_since=self.settled_since,
                now=now,
                overlap=self.identity.ca_rotation_overlap,
                lead=self.identity.ca_warning,
                trust_domain=self.settings.trust_domain,
            )
            if step.body is not None:
                written = self.kube.replace(SECRET, step.body)
        except (CertError, KubeError, NotFound) as exc:
            # A 409 (someone wrote the Secret since we read it) retries on the next pass.
            outcome.errors.append(f"rotating the CA in {namespace}/{name}: {exc}")
            return
        if step.wait is not None:
            outcome.next_check = min(outcome.next_check, step.wait)
        if step.body is None:
            return
        self.settled_since = None  # the next step waits for Secrets issued under this one
        outcome.ca_rotation.append(f"{step.reason}: {step.message}")
        log.info("%s/%s: %s: %s", namespace, name, step.reason, step.message)
        event = ca_rotation_event(
            namespace=namespace,
            secret=name,
            uid=(written.get("metadata") or {}).get("uid"),
            reason=step.reason,
            message=step.message,
            now=now,
            instance=socket.gethostname(),
        )
        try:
            self.kube.create(CORE_EVENT, namespace, event)
        except (KubeError, NotFound) as exc:
            outcome.errors.append(f"posting CA rotation event: {exc}")

    def _sync_policies(self, state: IdentityState, outcome: Outcome) -> None:
        desired = strict_network_policies(
            state.peer_authentications,
            operator_namespace=self.settings.operator_namespace,
            meshed_namespaces=meshed_namespaces(state.namespaces, state.pods),
        )
        wanted: set[tuple[str, str]] = set()
        for body in desired:
            meta = body["metadata"]
            key = (meta["namespace"], meta["name"])
            wanted.add(key)
            if _up_to_date(body, state.network_policies.get(key)):
                continue
            try:
                self.kube.apply(dict(body))
            except (KubeError, NotFound) as exc:
                outcome.errors.append(f"applying NetworkPolicy {key[0]}/{key[1]}: {exc}")
                continue
            outcome.policies_applied.append(f"{key[0]}/{key[1]}")
        for ns, name in sorted(state.network_policies):
            if (ns, name) in wanted:
                continue
            try:
                self.kube.delete(NETWORK_POLICY, ns, name)
            except KubeError as exc:
                outcome.errors.append(f"deleting NetworkPolicy {ns}/{name}: {exc}")
                continue
            outcome.policies_deleted.append(f"{ns}/{name}")


def _up_to_date(desired: NetworkPolicyBody, live: dict[str, Any] | None) -> bool:
    """Whether applying would change nothing we own (the server may add defaults elsewhere)."""
    if live is None:
        return False
    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    want = desired["metadata"]
    return (
        live.get("spec") == desired["spec"]
        and all(labels.get(k) == v for k, v in want["labels"].items())
        and all(annotations.get(k) == v for k, v in want["annotations"].items())
    )

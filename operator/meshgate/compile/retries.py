"""Which retry settings a Route rule gets, and from where. Pure.

Precedence, most specific first: the rule's inline `retry`; the rule's `retryPolicyRef`; a
RetryPolicy whose targetRefs name the Route; a RetryPolicy whose targetRefs name the backend
Service. Among RetryPolicies on the same target the oldest wins. No retry settings means the
proxy's defaults for a forward without `retry` (no retries).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshgate.api.v1alpha1.retry_policy import RetryPolicySpec
from meshgate.api.v1alpha1.route import RouteRetry
from meshproxy import config as pc

from .durations import seconds
from .index import Index
from .notes import Notes
from .report import q
from .snapshot import Resource

KIND = "RetryPolicy"


@dataclass
class RetryBook:
    index: Index
    notes: Notes
    by_name: dict[tuple[str, str], Resource[RetryPolicySpec]] = field(default_factory=dict)
    by_route: dict[tuple[str, str], Resource[RetryPolicySpec]] = field(default_factory=dict)
    by_service: dict[tuple[str, str], Resource[RetryPolicySpec]] = field(default_factory=dict)

    @classmethod
    def build(cls, index: Index) -> RetryBook:
        """The book, with what it found about RetryPolicies in `notes`."""
        book = cls(index=index, notes=Notes())
        report = book.notes
        routes: set[tuple[str, str]] | None = None  # made once a policy targets a Route
        ordered = sorted(index.snapshot.retry_policies, key=lambda r: r.meta.age_key)
        for rp in ordered:
            report.track(KIND, rp.meta)
            if rp.spec is None:
                report.set(KIND, rp.meta, "Accepted", "False", "Invalid", rp.error or "")
                continue
            report.set(KIND, rp.meta, "Accepted", "True", "Accepted", "spec is valid")
            book.by_name[(rp.meta.namespace, rp.meta.name)] = rp
            for ref in rp.spec.target_refs or []:
                key = (rp.meta.namespace, ref.name)
                if ref.kind == "Route" and routes is None:
                    routes = {(r.meta.namespace, r.meta.name) for r in index.snapshot.routes}
                known = routes if routes is not None and ref.kind == "Route" else index.services
                if key not in known:
                    report.set(
                        KIND,
                        rp.meta,
                        "ResolvedRefs",
                        "False",
                        "TargetNotFound",
                        f"{ref.kind.lower()} {q(ref.name)} not found in namespace "
                        f"{q(rp.meta.namespace)}",
                    )
                    continue
                target = book.by_route if ref.kind == "Route" else book.by_service
                target.setdefault(key, rp)
            report.default(KIND, rp.meta, "ResolvedRefs", "True", "ResolvedRefs", "targets found")
        return book

    def attached_to(self, uses: dict[tuple[str, str], set[tuple[str, str, str]]]) -> Notes:
        """Each usable policy's `attachedTo`: where it is in effect right now. `uses` maps a
        policy's (namespace, name) to the (kind, namespace, name) of the Routes and Services
        whose proxy routes carry it."""
        notes = Notes()
        group = {"Route": "meshgate.io", "Service": ""}
        for key, rp in self.by_name.items():
            notes.field(
                KIND,
                rp.meta,
                "attachedTo",
                [
                    {"group": group.get(k, ""), "kind": k, "namespace": ns, "name": n}
                    for k, ns, n in sorted(uses.get(key, ()))
                ],
            )
        return notes


def from_policy(spec: RetryPolicySpec) -> pc.Retry:
    b = spec.backoff
    budget = spec.budget
    return pc.Retry(
        attempts=spec.attempts,
        per_try_timeout=seconds(spec.per_try_timeout) if spec.per_try_timeout else None,
        retry_on=list(spec.retry_on),
        retriable_status_codes=sorted(spec.retriable_status_codes or []),
        backoff=pc.Backoff(
            base_interval=seconds(b.base_interval),
            max_interval=seconds(b.max_interval),
            jitter=0.5 if b.jitter else 0.0,
        ),
        # The proxy's budget floor is concurrent retries; the policy's floor is retries per
        # second. Over a one-second window they are the same bound, so the number carries over.
        budget=pc.RetryBudget(
            percent=budget.max_retry_percent, min_concurrency=budget.min_retries_per_second
        ),
        retry_non_idempotent=spec.retry_non_idempotent,
    )


def from_inline(retry: RouteRetry) -> pc.Retry:
    """Gateway API GEP-1731: connection failures are always retried, `codes` add status codes."""
    retry_on: list[pc.RetryOn] = ["connect-failure", "reset"]
    if retry.codes:
        retry_on.append("retriable-status-codes")
    backoff = pc.Backoff()
    if retry.backoff:
        base = seconds(retry.backoff)
        backoff = pc.Backoff(base_interval=base, max_interval=max(base * 10, base))
    return pc.Retry(
        attempts=retry.attempts,
        retry_on=retry_on,
        retriable_status_codes=sorted(retry.codes or []),
        backoff=backoff,
    )

"""Proxy status across replicas: how many proxies of each target run its current config version.

Each replica knows only the proxies polling it, so each publishes a report (a ConfigMap
`meshgate-proxies-<replica>` in the operator namespace: per target, how many of its proxies run
which version, and when) and every replica sums the fresh reports into one figure per target:
a Gateway's `status.proxies`, a meshed namespace's annotation `meshgate.io/proxies`. Every replica
computes the same sums from the same reports, so their writes agree. A report older than
`FRESH_SECONDS` (its replica is gone) no longer counts, and one older than `ABANDONED_SECONDS` is
deleted by whichever replica sees it, so replicas that come and go leave no reports behind.

Pure: bodies and times in, bodies out. The reports deliberately carry no managed-by label: the
routing reconcile deletes generated objects it did not render.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from meshproxy.delivery.target import Target, parse

REPORT_PREFIX = "meshgate-proxies-"
REPORT_LABEL = ("meshgate.io/component", "proxy-status")
REPORT_KEY = "proxies.json"
AT_ANNOTATION = "meshgate.io/reported-at"
NAMESPACE_ANNOTATION = "meshgate.io/proxies"
FRESH_SECONDS = 60.0
# Well past FRESH_SECONDS, so a replica that is merely slow (an API server restart, a long GC)
# is never mistaken for one that is gone.
ABANDONED_SECONDS = 10 * FRESH_SECONDS

# target -> applied version -> proxies
Counts = dict[Target, dict[str, int]]


@dataclass(frozen=True, order=True)
class ProxyCount:
    version: str  # the config version this replica serves the target
    current: int  # proxies running it
    total: int  # proxies polling for the target

    def text(self) -> str:
        return f"{self.current}/{self.total} proxies on config {self.version}"


def report_name(replica: str) -> str:
    return REPORT_PREFIX + re.sub(r"[^a-z0-9-]+", "-", replica.lower()).strip("-")[:200]


def report_body(replica: str, namespace: str, counts: Counts, now: datetime) -> dict[str, Any]:
    data = {str(t): dict(sorted(v.items())) for t, v in sorted(counts.items())}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": report_name(replica),
            "namespace": namespace,
            "labels": {REPORT_LABEL[0]: REPORT_LABEL[1]},
            "annotations": {AT_ANNOTATION: now.isoformat()},
        },
        "data": {REPORT_KEY: json.dumps(data, sort_keys=True)},
    }


def _reported_at(cm: Mapping[str, Any]) -> datetime | None:
    annotations = (cm.get("metadata") or {}).get("annotations") or {}
    try:
        return datetime.fromisoformat(str(annotations.get(AT_ANNOTATION)))
    except (TypeError, ValueError):
        return None


def abandoned(cm: Mapping[str, Any], now: datetime) -> bool:
    """A report its replica stopped refreshing long ago (or that never said when it was made):
    the replica is gone and the object is garbage."""
    at = _reported_at(cm)
    return at is None or now - at > timedelta(seconds=ABANDONED_SECONDS)


def read_report(cm: Mapping[str, Any], now: datetime) -> Counts:
    """A report's counts; empty when it is stale or unreadable."""
    at = _reported_at(cm)
    if at is None or now - at > timedelta(seconds=FRESH_SECONDS):
        return {}
    try:
        raw = json.loads((cm.get("data") or {}).get(REPORT_KEY) or "{}")
    except (TypeError, ValueError):
        return {}
    counts: Counts = {}
    for name, versions in raw.items():
        target = parse(name)
        if target is not None and isinstance(versions, dict):
            counts[target] = {str(v): int(n) for v, n in versions.items()}
    return counts


def aggregate(
    reports: Iterable[Counts], versions: Mapping[Target, str]
) -> dict[Target, ProxyCount]:
    """Every target with a config: proxies over all replicas, and those on its version."""
    summed: Counts = {}
    for report in reports:
        for target, by_version in report.items():
            into = summed.setdefault(target, {})
            for version, n in by_version.items():
                into[version] = into.get(version, 0) + n
    out = {}
    for target, version in versions.items():
        by_version = summed.get(target, {})
        out[target] = ProxyCount(version, by_version.get(version, 0), sum(by_version.values()))
    return out


def gateway_status_patch(count: ProxyCount) -> dict[str, Any]:
    """A merge patch of a Gateway's status subresource."""
    return {
        "status": {
            "proxies": {"version": count.version, "current": count.current, "total": count.total}
        }
    }


def namespace_patch(count: ProxyCount) -> dict[str, Any]:
    return {"metadata": {"annotations": {NAMESPACE_ANNOTATION: count.text()}}}

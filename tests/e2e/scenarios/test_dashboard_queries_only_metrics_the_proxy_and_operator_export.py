"""The chart's Grafana dashboard asks only for metrics that exist: every metric name in every
panel's query is a family that a running gateway proxy or the running operator (installed by
helm) exports on `/metrics`, and every family a query takes `rate()` or `increase()` of is a
counter (or a histogram's buckets), as Prometheus needs.

Manifests: `edge_api_versions/gateway.yaml` (one Gateway, so one gateway proxy Pod runs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from helm_release import CHART, LOCAL_VALUES
from scenario_kit import HERE, User, metrics

DASHBOARD = CHART / "files" / "dashboards" / "meshgate-proxies.json"
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
# Histogram series are named after their family with one of these suffixes.
_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel, rows included."""
    found = []
    for panel in dashboard.get("panels", []):
        for inner in [panel, *panel.get("panels", [])]:
            found += [(inner.get("title", "?"), t["expr"]) for t in inner.get("targets", [])]
    return found


def _without_labels(expr: str) -> str:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors, $__rate_interval
    return re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels


def metric_names(expr: str) -> set[str]:
    """Every series name a PromQL expression selects (functions and label names left out)."""
    names = set()
    for m in re.finditer(rf"({_NAME})\s*(\()?", _without_labels(expr)):
        if m.group(2) is None:
            names.add(m.group(1))
    return names


def rated(expr: str) -> set[str]:
    return set(re.findall(rf"\b(?:rate|irate|increase)\(\s*({_NAME})", _without_labels(expr)))


def families(text: str) -> dict[str, str]:
    """name -> type from the `# TYPE` lines of a Prometheus text exposition."""
    return dict(re.findall(rf"^# TYPE ({_NAME}) (\w+)$", text, flags=re.MULTILINE))


def family_of(series: str, exported: dict[str, str]) -> str | None:
    if series in exported:
        return series
    for suffix in _HISTOGRAM_SERIES:
        base = series.removesuffix(suffix)
        if base != series and exported.get(base) == "histogram":
            return base
    return None


def test_parser_finds_names_not_functions_labels_or_ranges() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (namespace, le) (rate(a_bucket{code=~"5.."}'
        "[$__rate_interval]))) / count by (version) (b_info)"
    )
    assert metric_names(expr) == {"a_bucket", "b_info"}
    assert rated(expr) == {"a_bucket"}


def test_every_dashboard_query_names_an_exported_metric_of_the_right_type(user: User) -> None:
    user.apply(HERE / "edge_api_versions" / "gateway.yaml")
    user.condition("gateways.meshgate.io", "edge", "Programmed", timeout=60)
    gateway = user.gateway_pods("edge")[0]["status"]["podIP"]
    (operator,) = user.release.ready_operator_pods() or []
    health_port = yaml.safe_load(LOCAL_VALUES.read_text())["operator"]["healthPort"]

    exported = families(metrics(gateway))
    operator_families = families(metrics(operator["status"]["podIP"], health_port))
    assert "meshproxy_requests_total" in exported
    assert "meshgate_reconciles_total" in operator_families
    exported.update(operator_families)

    problems = []
    for title, expr in queries(json.loads(Path(DASHBOARD).read_text())):
        for series in sorted(metric_names(expr)):
            if family_of(series, exported) is None:
                problems.append(f"{title}: {series} is exported by neither")
        for series in sorted(rated(expr)):
            family = family_of(series, exported)
            kind = exported.get(family or "")
            if family is not None and kind not in ("counter", "histogram"):
                problems.append(f"{title}: rate/increase of {series}, a {kind}")
    assert not problems, "\n".join(problems)
    # A name ending in _total promises a counter.
    gauges = [n for n, t in exported.items() if n.endswith("_total") and t != "counter"]
    assert not gauges, gauges

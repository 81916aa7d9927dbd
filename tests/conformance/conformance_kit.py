"""Where the conformance run's pieces live, and reading the suite's ConformanceReport
(sigs.k8s.io/gateway-api/conformance/apis/v1): the summary `make conformance` prints, and what
makes a run a failure. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

Body = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "conformance"
BIN_DIR = REPO / ".local" / "conformance"


@dataclass(frozen=True)
class ConformanceBins:
    """The echo-basic program, our echo-advanced emulation and the compiled suite, built by
    `make conformance-bins`."""

    echo_basic: Path
    suite: Path
    echo_advanced: Path


BINS = ConformanceBins(
    BIN_DIR / "echo-basic", BIN_DIR / "gateway-http.test", BIN_DIR / "echo-advanced"
)


def _stats(status: Body) -> str:
    stats = status.get("statistics") or {}
    return (
        f"passed {stats.get('Passed', 0)}, failed {stats.get('Failed', 0)}, "
        f"skipped {stats.get('Skipped', 0)}"
    )


def summary(report: Body) -> list[str]:
    """One block of lines per profile: result and counts, core then extended."""
    lines = [
        f"Gateway API {report.get('gatewayAPIVersion')} ({report.get('gatewayAPIChannel')}), "
        f"{report.get('implementation', {}).get('project')} "
        f"{report.get('implementation', {}).get('version')}, mode {report.get('mode')}"
    ]
    for profile in report.get("profiles") or []:
        core = profile.get("core") or {}
        lines.append(f"profile {profile.get('name')}: {profile.get('summary', '')}".rstrip())
        lines.append(f"  core:     {core.get('result')} ({_stats(core)})")
        for name in core.get("failedTests") or []:
            lines.append(f"    failed:  {name}")
        for name in core.get("skippedTests") or []:
            lines.append(f"    skipped: {name}")
        extended = profile.get("extended")
        if extended:
            lines.append(f"  extended: {extended.get('result')} ({_stats(extended)})")
            claimed = ", ".join(extended.get("supportedFeatures") or []) or "none"
            lines.append(f"    features claimed: {claimed}")
            for name in extended.get("failedTests") or []:
                lines.append(f"    failed:  {name}")
            for name in extended.get("skippedTests") or []:
                lines.append(f"    skipped: {name}")
        else:
            lines.append("  extended: no feature claimed")
    return lines


def failures(report: Body) -> list[str]:
    """Why the run does not count as a success; empty when every profile succeeded."""
    problems: list[str] = []
    profiles = report.get("profiles") or []
    if not profiles:
        problems.append("the report holds no profile")
    for profile in profiles:
        for part in ("core", "extended"):
            status = profile.get(part)
            if status and status.get("result") != "success":
                problems.append(f"{profile.get('name')} {part}: {status.get('result')}")
    return problems

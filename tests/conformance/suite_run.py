"""Running one profile of the compiled conformance suite (`make conformance-bins`) as a process
against the local control plane, and what it wrote: its report, log and summary lines."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import yaml
from conformance_kit import BIN_DIR, MODULE, ConformanceBins, failures, summary

# The suite's own per-step timeouts bound each test; this bounds a whole run.
SUITE_TIMEOUT = 50 * 60
SUMMARY = BIN_DIR / "summary.txt"


def report_path(committed: str, env_name: str) -> Path:
    """The committed report, or where `make test` wants this run's report (not over it)."""
    return Path(os.environ.get(env_name) or MODULE / "reports" / committed)


def run_profile(
    bins: ConformanceBins, kubeconfig: str, test_name: str, report: Path, env: dict[str, str]
) -> tuple[list[str], list[str], int, Path]:
    """Run one Go test function of the suite; (summary lines, failures, exit code, log)."""
    log_path = BIN_DIR / f"{test_name}.log"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.run(
            [
                str(bins.suite),
                "-test.v",
                f"-test.timeout={SUITE_TIMEOUT}s",
                f"-test.run=^{test_name}$",
                f"-report-output={report}",
                # The control plane is thrown away after the run: no time spent on deletions.
                "-cleanup-base-resources=false",
                *_single_test(),
            ],
            cwd=MODULE,
            env=dict(os.environ, KUBECONFIG=kubeconfig, **env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=SUITE_TIMEOUT + 60,
            check=False,
        )
    took = time.monotonic() - started
    lines = [
        f"{test_name}: suite exit code {proc.returncode}, ran {took:.0f}s; full log {log_path}"
    ]
    body = yaml.safe_load(report.read_text()) if report.is_file() else None
    if body is None:
        lines.append(f"no report written to {report}: see the log")
        problems = ["no report"]
    else:
        lines.extend(summary(body))
        lines.append(f"report: {report}")
        problems = failures(body)
    with open(SUMMARY, "a") as out:
        out.write("\n".join(lines) + "\n")
    return lines, problems, proc.returncode, log_path


def _single_test() -> list[str]:
    """`-run-test=<name>` when MESHGATE_CONFORMANCE_RUN_TEST names one test of the suite (its
    ShortName): one test's run while working on it, never the profile's verdict."""
    name = os.environ.get("MESHGATE_CONFORMANCE_RUN_TEST", "").strip()
    return [f"-run-test={name}"] if name else []


def tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def assert_gateway_profile_passes(
    bins: ConformanceBins, kubeconfig: str, test_name: str, report: Path
) -> None:
    """Run a Gateway profile's test function with the claimed features and fail unless the
    suite says every profile it ran succeeded. MESHGATE_CONFORMANCE_FEATURES names another
    feature list, to try more than `conformance/supported-features.txt` claims."""
    features = os.environ.get("MESHGATE_CONFORMANCE_FEATURES") or str(
        MODULE / "supported-features.txt"
    )
    lines, problems, code, log = run_profile(
        bins, kubeconfig, test_name, report, {"MESHGATE_CONFORMANCE_FEATURES": features}
    )
    assert not problems, "\n".join(lines) + "\n" + tail(log)
    assert code == 0, "\n".join(lines) + "\n" + tail(log)

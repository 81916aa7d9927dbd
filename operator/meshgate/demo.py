"""`meshgate demo`: meshgate's main job on an embedded default, as a list of steps.

With no `$KUBECONFIG` it starts (or reuses) the local control plane in `<dir>/cluster` and leaves it
running for the user to explore; with `$KUBECONFIG` set it works against that cluster and starts
nothing. Each step returns one line for the closing summary; a step that cannot run yet (no CRDs
generated, no quickstart written) says so and the demo goes on. Later issues add steps (run the
operator, send a request through the gateway) to `STEPS`.

The demo must always finish: every wait has a deadline, and nothing here blocks on a foreground
process. It must never stop a cluster it did not start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .localcluster import command as cluster_command
from .localcluster.cluster import LocalCluster
from .localcluster.errors import LocalClusterError
from .localcluster.testbins import ENV as TESTBINS_ENV

FIELD_MANAGER = "meshgate"


class DemoError(Exception):
    """A step failed in a way the user must see; the message says what and why."""


@dataclass
class DemoContext:
    root: Path
    state_dir: Path
    kubeconfig: Path | None = None
    started_cluster: bool = False
    kubectl: str = "kubectl"
    crds_applied: bool = False
    notes: list[str] = field(default_factory=list)

    def kubectl_run(
        self, *args: str, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the demo's cluster; with `check`, a failure raises DemoError."""
        argv = [self.kubectl, f"--kubeconfig={self.kubeconfig}", *args]
        print(f"$ kubectl {' '.join(args)}", flush=True)
        proc = subprocess.run(
            argv, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise DemoError(f"kubectl {' '.join(args)} failed:\n{proc.stderr.strip()}")
        return proc


Step = Callable[[DemoContext], str]


def _find_kubectl() -> str:
    bins = os.environ.get(TESTBINS_ENV)
    if bins and os.access(Path(bins) / "kubectl", os.X_OK):
        return str(Path(bins) / "kubectl")
    found = shutil.which("kubectl")
    if found is None:
        raise DemoError("kubectl not found: run `make testbins` or put kubectl on PATH")
    return found


def step_cluster(ctx: DemoContext) -> str:
    env_kubeconfig = os.environ.get("KUBECONFIG")
    if env_kubeconfig:
        ctx.kubeconfig = Path(env_kubeconfig).resolve()
        return f"used the cluster of $KUBECONFIG ({ctx.kubeconfig}); started nothing"
    was_running = LocalCluster(ctx.state_dir / "cluster").is_running()
    cluster = cluster_command.up(ctx.state_dir / "cluster")
    ctx.kubeconfig = cluster.kubeconfig_path
    ctx.started_cluster = not was_running
    verb = "reused" if was_running else "started"
    return f"{verb} the local control plane at {cluster.server}"


def step_crds(ctx: DemoContext) -> str:
    crds = sorted((ctx.root / "crds").glob("*.yaml"))
    if not crds:
        return "no CRDs in crds/ yet (`make crds` generates them): skipped"
    # Server-side apply: CRDs are too large for client-side apply's last-applied annotation.
    applied = ctx.kubectl_run(
        "apply",
        "--server-side",
        "--force-conflicts",
        f"--field-manager={FIELD_MANAGER}",
        "-f",
        "crds/",
    )
    print(applied.stdout.rstrip(), flush=True)
    ctx.kubectl_run("wait", "--for=condition=Established", "--timeout=60s", "-f", "crds/")
    ctx.crds_applied = True
    return f"applied {len(crds)} CRDs from crds/ (server-side) and saw them Established"


def step_quickstart(ctx: DemoContext) -> str:
    qs = ctx.root / "examples" / "quickstart"
    manifests = sorted([*qs.glob("**/*.yaml"), *qs.glob("**/*.yml")]) if qs.is_dir() else []
    if not manifests:
        return "no examples/quickstart/ manifests yet: skipped"
    if not ctx.crds_applied:
        return "examples/quickstart/ needs meshgate's CRDs, which are not generated yet: skipped"
    applied = ctx.kubectl_run(
        "apply",
        "--server-side",
        f"--field-manager={FIELD_MANAGER}",
        "--recursive",
        "-f",
        str(qs.relative_to(ctx.root)),
    )
    print(applied.stdout.rstrip(), flush=True)
    return f"applied examples/quickstart/ ({len(manifests)} files)"


def step_show(ctx: DemoContext) -> str:
    proc = ctx.kubectl_run("get", "meshgate", "--all-namespaces", check=False)
    out = (proc.stdout or proc.stderr).strip()
    print(out or "(no meshgate resources)", flush=True)
    if proc.returncode != 0:
        return "kubectl get meshgate -A: the cluster has no `meshgate` category yet (no CRDs)"
    return "listed the meshgate resources (kubectl get meshgate -A)"


# The demo, in order. Later issues insert their steps here (the operator after the CRDs, a request
# through the gateway after the quickstart).
STEPS: tuple[tuple[str, Step], ...] = (
    ("control plane", step_cluster),
    ("CRDs", step_crds),
    ("quickstart", step_quickstart),
    ("resources", step_show),
)


def _default_root() -> Path:
    # An editable install runs from the checkout: operator/meshgate/demo.py -> the repo root.
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("MESHGATE_LOCAL_DIR", ".local")),
        help="local state directory; the control plane lives in <dir>/cluster (default .local)",
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="the meshgate checkout (default: this one)"
    )


def run_steps(ctx: DemoContext, steps: Sequence[tuple[str, Step]] = STEPS) -> int:
    began = time.monotonic()
    done: list[tuple[str, str]] = []
    for title, step in steps:
        print(f"==> [demo] {title}", flush=True)
        try:
            done.append((title, step(ctx)))
        except (DemoError, LocalClusterError, subprocess.TimeoutExpired) as exc:
            print(f"meshgate demo: step '{title}' failed: {exc}", file=sys.stderr)
            _summary(ctx, done, began)
            return 1
    _summary(ctx, done, began)
    return 0


def _summary(ctx: DemoContext, done: list[tuple[str, str]], began: float) -> None:
    print(f"==> [demo] finished in {time.monotonic() - began:.1f}s; what it did:")
    for title, outcome in done:
        print(f"    {title}: {outcome}")
    if ctx.kubeconfig is None:
        return
    if os.environ.get("KUBECONFIG"):
        print("    nothing to stop: the demo used your $KUBECONFIG cluster")
    else:
        print("    the local control plane keeps running; stop it with `make down`")
    # Last line: paste it to talk to the demo's cluster.
    print(f"export KUBECONFIG={ctx.kubeconfig}", flush=True)


def run(args: argparse.Namespace) -> int:
    root = (args.root or _default_root()).resolve()
    try:
        kubectl = _find_kubectl()
    except DemoError as exc:
        print(f"meshgate demo: {exc}", file=sys.stderr)
        return 1
    ctx = DemoContext(root=root, state_dir=Path(args.dir).resolve(), kubectl=kubectl)
    return run_steps(ctx)

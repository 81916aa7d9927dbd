"""`meshgate demo`: meshgate's whole story on an embedded default, as a list of steps.

With no `$KUBECONFIG` the demo re-runs itself inside a private network namespace
(`hack/in-netns.sh`), because the local node agent gives each Pod its own address there. Inside,
it starts a fresh local control plane in `<dir>/demo`, the node agent (which plays kubelet: Pods
run as local processes), `helm install`s the chart, applies `examples/quickstart/` (its meshed
namespace, `web` calling `api`, a gateway routing to `web`), sends a request through the gateway
and prints the path it took, as the apps themselves report it (each hop's Pod, address and the
SPIFFE ID its caller presented), and the `kubectl get meshgate -A` table. Nothing can outlive
the namespace, so the demo then stops everything it started and says so.

With `$KUBECONFIG` set it works against that cluster (real kubelets: no agent, no namespace),
reaches the gateway through `kubectl port-forward`, and leaves the release installed, printing
how to remove it. It must never stop a cluster it did not start.

Each step returns one line for the closing summary. Every wait has a deadline; every process the
demo starts is stopped by its own PID.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .inject.names import INJECTED_LABEL
from .localcluster.cluster import LocalCluster
from .localcluster.errors import LocalClusterError
from .localcluster.testbins import ENV as TESTBINS_ENV
from .localcluster.testbins import bin_dir_from_env
from .localcluster.waiting import WaitTimeout, wait_for
from .ownership import FIELD_MANAGER

RELEASE = "meshgate"
RELEASE_NAMESPACE = "meshgate-system"
# Declared by examples/quickstart/00-namespace.yaml, labelled for injection.
DEMO_NAMESPACE = "quickstart"
QUICKSTART_NAMESPACE_FILE = "00-namespace.yaml"
# The quickstart's services, in the order a request crosses them.
QUICKSTART_SERVICES = ("web", "api")
QUICKSTART_GATEWAY = "quickstart"
LISTENER_PORT = 8080
PEER_HEADER = "x-meshgate-peer-identity"
# examples/gateway-api/: the quickstart's edge as a standard Gateway and HTTPRoute.
GATEWAY_CLASS = "gatewayclasses.gateway.networking.k8s.io"
GATEWAY_API_GATEWAY = "gateways.gateway.networking.k8s.io"
HTTP_ROUTE = "httproutes.gateway.networking.k8s.io"
STANDARD_GATEWAY = "edge"
STANDARD_ROUTE = "quickstart-echo"
# Set on the re-run inside the network namespace, so it does not re-run itself again.
IN_NETNS_ENV = "MESHGATE_DEMO_IN_NETNS"


class DemoError(Exception):
    """A step failed in a way the user must see; the message says what and why."""


@dataclass
class DemoContext:
    root: Path
    state_dir: Path
    kubeconfig: Path | None = None
    started_cluster: bool = False
    kubectl: str = "kubectl"
    helm: str = "helm"
    crds_applied: bool = False
    notes: list[str] = field(default_factory=list)
    # The local mode's own control plane and node agent, stopped at the end.
    cluster: LocalCluster | None = None
    agent: subprocess.Popen[bytes] | None = None
    gateway_answer: dict[str, Any] | None = None

    @property
    def local(self) -> bool:
        return not os.environ.get("KUBECONFIG")

    def run_tool(
        self,
        tool: str,
        *args: str,
        check: bool = True,
        timeout: float = 120.0,
        show: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl or helm against the demo's cluster; with `check`, a failure raises."""
        argv = [tool, f"--kubeconfig={self.kubeconfig}", *args]
        if show:
            print(f"$ {Path(tool).name} {' '.join(args)}", flush=True)
        proc = subprocess.run(
            argv,
            cwd=self.root,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise DemoError(f"{Path(tool).name} {' '.join(args)} failed:\n{proc.stderr.strip()}")
        return proc

    def kubectl_run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 120.0,
        show: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return self.run_tool(
            self.kubectl, *args, check=check, timeout=timeout, show=show, stdin=stdin
        )

    def get_json(self, *args: str) -> dict[str, Any]:
        out = self.kubectl_run("get", *args, "-o", "json", show=False).stdout
        result: dict[str, Any] = json.loads(out)
        return result


Step = Callable[[DemoContext], str]


def _find_tool(name: str) -> str:
    bins = os.environ.get(TESTBINS_ENV)
    if bins and os.access(Path(bins) / name, os.X_OK):
        return str(Path(bins) / name)
    found = shutil.which(name)
    if found is None:
        raise DemoError(f"{name} not found: run `make testbins` or put {name} on PATH")
    return found


def _wait(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    try:
        return wait_for(condition, timeout=timeout, what=what)
    except WaitTimeout as exc:
        raise DemoError(str(exc)) from exc


def _pod_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _ready_pods(ctx: DemoContext, namespace: str, selector: str) -> list[dict[str, Any]] | None:
    items = ctx.get_json("pods", "-n", namespace, "-l", selector)["items"]
    live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
    return live if live and all(_pod_ready(p) for p in live) else None


def _injects(ctx: DemoContext) -> bool:
    """Whether a Pod created in the demo namespace now gets a sidecar (a server-side dry run:
    the injector is called, nothing is stored)."""
    probe = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "injection-probe-"},
        "spec": {"containers": [{"name": "probe", "image": "meshgate.local/echo:latest"}]},
    }
    args = ("create", "--dry-run=server", "-n", DEMO_NAMESPACE, "-o", "json", "-f", "-")
    proc = ctx.kubectl_run(*args, check=False, show=False, stdin=json.dumps(probe))
    if proc.returncode != 0:
        return False
    labels = json.loads(proc.stdout).get("metadata", {}).get("labels") or {}
    return INJECTED_LABEL in labels


def _wait_ready(ctx: DemoContext, selector: str, what: str) -> None:
    _wait(lambda: _ready_pods(ctx, DEMO_NAMESPACE, selector), 120, what)


# -- the steps ----------------------------------------------------------------------------------


def step_cluster(ctx: DemoContext) -> str:
    env_kubeconfig = os.environ.get("KUBECONFIG")
    if env_kubeconfig:
        ctx.kubeconfig = Path(env_kubeconfig).resolve()
        return f"used the cluster of $KUBECONFIG ({ctx.kubeconfig}); started nothing"
    # A fresh control plane inside this network namespace: one from `make up` lives outside it
    # and cannot be reached from here.
    state = ctx.state_dir / "demo"
    shutil.rmtree(state, ignore_errors=True)
    cluster = LocalCluster(state, bin_dir_from_env(), tie_to_parent=True, log=print)
    ctx.cluster = cluster
    timings = cluster.start()
    ctx.kubeconfig = cluster.kubeconfig_path
    ctx.started_cluster = True
    return f"started a local control plane in {timings} at {cluster.server}"


def step_node_agent(ctx: DemoContext) -> str:
    if not ctx.local:
        return "the cluster's own kubelets run the Pods: no node agent"
    e2e = ctx.root / "tests" / "e2e"
    state = ctx.state_dir / "demo" / "node-agent"
    state.mkdir(parents=True, exist_ok=True)
    out_path, log_path = state / "agent.out", state / "agent.log"
    # Kept after the harness: `make demo` puts the mypyc build of meshproxy there for the Pods.
    pythonpath = os.pathsep.join(filter(None, [str(e2e), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "harness", "--kubeconfig", str(ctx.kubeconfig)]
    print(f"$ python -m harness --kubeconfig {ctx.kubeconfig} --state-dir {state}", flush=True)
    with open(out_path, "wb") as out, open(log_path, "wb") as err:
        ctx.agent = subprocess.Popen(
            [*argv, "--state-dir", str(state)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=e2e,
        )

    def ready() -> list[str] | None:
        assert ctx.agent is not None
        if ctx.agent.poll() is not None:
            raise DemoError(f"the node agent exited:\n{log_path.read_text()[-2000:]}")
        words = out_path.read_text().split()
        return words if words[:1] == ["ready"] else None

    words = _wait(ready, 60, "the node agent to register its Node")
    return f"node agent runs Pods as local processes on {words[2]} (logs in {state})"


def step_helm_install(ctx: DemoContext) -> str:
    chart = ctx.root / "charts" / "meshgate"
    args = ["install", RELEASE, str(chart.relative_to(ctx.root))]
    args += ["--namespace", RELEASE_NAMESPACE, "--create-namespace"]
    if ctx.local:
        values = chart / "ci" / "local-runner-values.yaml"
        args += ["--values", str(values.relative_to(ctx.root))]
        args += ["--set", f"localRunner.kubeconfig={ctx.kubeconfig}"]
    ctx.run_tool(ctx.helm, *args, timeout=180)
    ctx.crds_applied = True
    selector = "app.kubernetes.io/name=meshgate,app.kubernetes.io/component=operator"
    pods = _wait(
        lambda: _ready_pods(ctx, RELEASE_NAMESPACE, selector), 180, "the operator Pods Ready"
    )
    return f"helm install {RELEASE} charts/meshgate: {len(pods)} operator Pod(s) Ready"


def step_quickstart(ctx: DemoContext) -> str:
    qs = ctx.root / "examples" / "quickstart"
    manifests = sorted([*qs.glob("**/*.yaml"), *qs.glob("**/*.yml")]) if qs.is_dir() else []
    if not manifests:
        return "no examples/quickstart/ manifests yet: skipped"
    if not ctx.crds_applied:
        return "examples/quickstart/ needs meshgate's CRDs, which are not installed: skipped"
    # The meshed namespace first, then proof that the API server calls the injector for it: an
    # operator Ready a moment ago may not be registered with the API server yet, and a Pod
    # created before then keeps running without a sidecar.
    namespace_file = str((qs / QUICKSTART_NAMESPACE_FILE).relative_to(ctx.root))
    args = ("apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", namespace_file)
    print(ctx.kubectl_run(*args).stdout.rstrip(), flush=True)
    _wait(lambda: _injects(ctx), 60, f"the API server to call the injector for {DEMO_NAMESPACE}")
    print(f"sidecar injector: Pods created in namespace {DEMO_NAMESPACE} get a sidecar", flush=True)
    applied = ctx.kubectl_run(
        "apply",
        "--server-side",
        f"--field-manager={FIELD_MANAGER}",
        "--namespace",
        DEMO_NAMESPACE,
        "--recursive",
        "-f",
        str(qs.relative_to(ctx.root)),
    )
    print(applied.stdout.rstrip(), flush=True)
    for app in QUICKSTART_SERVICES:
        _wait_ready(ctx, f"app={app}", f"the {app} Pod Ready")
    _wait_ready(ctx, f"meshgate.io/gateway={QUICKSTART_GATEWAY}", "the gateway Pod Ready")
    services = " and ".join(QUICKSTART_SERVICES)
    return (
        f"applied examples/quickstart/ ({len(manifests)} files): {services}, meshed,"
        f" in namespace {DEMO_NAMESPACE}"
    )


@contextlib.contextmanager
def _gateway_address(
    ctx: DemoContext, gateway: str = QUICKSTART_GATEWAY
) -> Iterator[tuple[str, int]]:
    """Where a quickstart gateway answers: its Pod's own address locally, a port-forward
    on a real cluster (stopped by its PID afterwards)."""
    selector = f"meshgate.io/gateway={gateway}"
    if ctx.local:
        pods = _ready_pods(ctx, DEMO_NAMESPACE, selector) or []
        yield pods[0]["status"]["podIP"], LISTENER_PORT
        return
    local_port = 18080
    argv = [ctx.kubectl, f"--kubeconfig={ctx.kubeconfig}", "port-forward", "-n", DEMO_NAMESPACE]
    argv += [f"deployment/meshgate-gw-{gateway}", f"{local_port}:{LISTENER_PORT}"]
    print(f"$ kubectl {' '.join(argv[2:])}", flush=True)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()  # "Forwarding from 127.0.0.1:18080 -> 8080"
        if "Forwarding" not in line:
            raise DemoError(f"kubectl port-forward did not start: {line.strip()}")
        yield "127.0.0.1", local_port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def _get(address: str, port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(address, port, timeout=5)
    try:
        conn.request("GET", path, headers={"x-demo": "meshgate"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def step_request(ctx: DemoContext) -> str:
    with _gateway_address(ctx) as (address, port):
        print(f"$ curl http://{address}:{port}/hello", flush=True)
        last: list[str] = []

        def answered() -> tuple[int, bytes] | None:
            try:
                status, body = _get(address, port, "/hello")
            except OSError as exc:
                last[:] = [repr(exc)]
                return None
            last[:] = [f"HTTP {status} {body[:300]!r}"]
            return (status, body) if status == 200 else None

        try:
            status, body = wait_for(answered, timeout=60, what="the gateway to answer 200")
        except WaitTimeout as exc:
            raise DemoError(f"{exc}; last: {last[:1]}") from exc
    answer: dict[str, Any] = json.loads(body)
    ctx.gateway_answer = answer
    print(json.dumps(_shown(answer), indent=2), flush=True)
    hops = _hops(answer)
    if len(hops) != len(QUICKSTART_SERVICES):
        raise DemoError(f"the answer crossed {len(hops)} of {len(QUICKSTART_SERVICES)} services")
    named = list(zip(QUICKSTART_SERVICES, hops, strict=True))
    gateway = f"gateway {QUICKSTART_GATEWAY} ({address}:{port})"
    path = [f"client ─▶ {gateway}"]
    path += [
        f"─mTLS ({who})─▶ {name} (pod {hop.get('pod')}, {hop.get('address')})"
        for name, (who, hop) in named
    ]
    print("path: " + "\n        ".join(path), flush=True)
    crossed = " ─mTLS─▶ ".join(f"{name} ({hop.get('address')})" for name, (_, hop) in named)
    return f"HTTP {status} through client ─▶ {gateway} ─mTLS─▶ {crossed}"


def _hops(answer: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(the caller's SPIFFE ID, the app's answer) for each service the request crossed, read from
    the answers themselves: web's, then api's under `downstream`. A hop whose sidecar vouched for
    no caller is not mTLS, and the demo says so."""
    hops = []
    hop: Any = answer
    while isinstance(hop, dict):
        caller = (hop.get("headers") or {}).get(PEER_HEADER)
        if not caller:
            raise DemoError(f"pod {hop.get('pod')} saw no {PEER_HEADER}: that hop was not mTLS")
        hops.append((str(caller), hop))
        hop = (hop.get("downstream") or {}).get("answer")
    return hops


def _shown(answer: dict[str, Any]) -> dict[str, Any]:
    """An app's answer, and its downstream's, with only the fields and headers worth reading."""
    headers = answer.get("headers") or {}
    wanted = ("host", "x-demo", PEER_HEADER, "x-request-id", "traceparent")
    shown: dict[str, Any] = {k: answer.get(k) for k in ("pod", "namespace", "address", "path")}
    shown["headers"] = {k: headers[k] for k in wanted if k in headers}
    downstream = answer.get("downstream")
    if isinstance(downstream, dict):
        inner = downstream.get("answer")
        shown["downstream"] = {
            "status": downstream.get("status"),
            **({"answer": _shown(inner)} if isinstance(inner, dict) else {}),
            **({"error": downstream["error"]} if "error" in downstream else {}),
        }
    return shown


def _standard_ready(ctx: DemoContext) -> bool:
    """The Gateway API Gateway Programmed and its HTTPRoute accepted by it, for this generation."""
    gateway = ctx.get_json(GATEWAY_API_GATEWAY, STANDARD_GATEWAY, "-n", DEMO_NAMESPACE)
    route = ctx.get_json(HTTP_ROUTE, STANDARD_ROUTE, "-n", DEMO_NAMESPACE)

    def true(conditions: Any, type_: str, generation: Any) -> bool:
        return any(
            c.get("type") == type_
            and c.get("status") == "True"
            and c.get("observedGeneration") == generation
            for c in conditions or []
        )

    programmed = true(
        (gateway.get("status") or {}).get("conditions"),
        "Programmed",
        (gateway.get("metadata") or {}).get("generation"),
    )
    parents = (route.get("status") or {}).get("parents") or []
    generation = (route.get("metadata") or {}).get("generation")
    accepted = any(true(p.get("conditions"), "Accepted", generation) for p in parents)
    return programmed and accepted


def step_gateway_api(ctx: DemoContext) -> str:
    """The quickstart's edge again in Gateway API form (examples/gateway-api/): a standard
    Gateway of class `meshgate` and an HTTPRoute to the same web Service, beside the meshgate
    Gateway; one request through it, then what kubectl shows of the standard resources."""
    folder = ctx.root / "examples" / "gateway-api"
    if not folder.is_dir():
        return "no examples/gateway-api/ manifests yet: skipped"
    crd = ctx.kubectl_run("get", "crd", GATEWAY_CLASS, "-o", "name", check=False, show=False)
    if crd.returncode != 0:
        return "no Gateway API CRDs (the chart's gatewayAPI.installCRDs is off): skipped"

    def has_class() -> bool:
        got = ctx.kubectl_run(
            "get", GATEWAY_CLASS, "meshgate", "-o", "name", check=False, show=False
        )
        return got.returncode == 0

    # The operator creates the class at its start.
    _wait(has_class, 60, "GatewayClass meshgate (created by the operator)")
    applied = ctx.kubectl_run(
        "apply", "--server-side", f"--field-manager={FIELD_MANAGER}",
        "--namespace", DEMO_NAMESPACE, "-f", str(folder.relative_to(ctx.root)),
    )  # fmt: skip
    print(applied.stdout.rstrip(), flush=True)
    _wait(lambda: _standard_ready(ctx), 120, f"Gateway {STANDARD_GATEWAY} Programmed")
    _wait_ready(ctx, f"meshgate.io/gateway={STANDARD_GATEWAY}", "the Gateway API gateway Pod Ready")
    with _gateway_address(ctx, STANDARD_GATEWAY) as (address, port):
        print(f"$ curl http://{address}:{port}/hello", flush=True)

        def answered() -> dict[str, Any] | None:
            try:
                status, body = _get(address, port, "/hello")
            except OSError:
                return None
            return json.loads(body) if status == 200 else None

        try:
            answer = wait_for(answered, timeout=60, what="the Gateway API gateway to answer 200")
        except WaitTimeout as exc:
            raise DemoError(str(exc)) from exc
    caller = (answer.get("headers") or {}).get(PEER_HEADER)
    print(f"web (pod {answer.get('pod')}) saw the caller {caller}", flush=True)
    if not caller:
        raise DemoError(f"web saw no {PEER_HEADER}: the Gateway API gateway did not use mTLS")
    listed = ctx.kubectl_run("get", f"{GATEWAY_API_GATEWAY},{HTTP_ROUTE}", "--all-namespaces")
    print(listed.stdout.rstrip(), flush=True)
    return (
        f"applied examples/gateway-api/: Gateway {STANDARD_GATEWAY} (class meshgate) Programmed,"
        f" HTTPRoute {STANDARD_ROUTE} Accepted; HTTP 200 from web over mTLS ({caller})"
    )


def step_show(ctx: DemoContext) -> str:
    proc = ctx.kubectl_run("get", "meshgate", "--all-namespaces", check=False)
    out = (proc.stdout or proc.stderr).strip()
    print(out or "(no meshgate resources)", flush=True)
    if proc.returncode != 0:
        return "kubectl get meshgate -A: the cluster has no `meshgate` category yet (no CRDs)"
    return "listed the meshgate resources (kubectl get meshgate -A)"


# The demo, in order.
STEPS: tuple[tuple[str, Step], ...] = (
    ("control plane", step_cluster),
    ("node agent", step_node_agent),
    ("helm install", step_helm_install),
    ("quickstart", step_quickstart),
    ("request", step_request),
    ("gateway api", step_gateway_api),
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
        help="local state directory; the demo's control plane lives in <dir>/demo (default .local)",
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="the meshgate checkout (default: this one)"
    )


def run_steps(ctx: DemoContext, steps: Sequence[tuple[str, Step]] = STEPS) -> int:
    began = time.monotonic()
    done: list[tuple[str, str]] = []
    code = 0
    try:
        for title, step in steps:
            print(f"==> [demo] {title}", flush=True)
            try:
                done.append((title, step(ctx)))
            except (DemoError, LocalClusterError, subprocess.TimeoutExpired) as exc:
                print(f"meshgate demo: step '{title}' failed: {exc}", file=sys.stderr)
                code = 1
                break
    finally:
        stopped = _stop_local(ctx)
    _summary(ctx, done, began, stopped)
    return code


def _stop_local(ctx: DemoContext) -> list[str]:
    """Stop what the local mode started, by PID: the agent (it stops its Pods), the cluster."""
    stopped = []
    if ctx.agent is not None and ctx.agent.poll() is None:
        os.kill(ctx.agent.pid, signal.SIGTERM)
        try:
            ctx.agent.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(ctx.agent.pid, signal.SIGKILL)
            ctx.agent.wait(timeout=10)
        stopped.append("the node agent and every Pod process")
    if ctx.cluster is not None and ctx.started_cluster:
        ctx.cluster.stop()
        stopped.append("the local control plane")
    return stopped


def _summary(
    ctx: DemoContext, done: list[tuple[str, str]], began: float, stopped: list[str]
) -> None:
    print(f"==> [demo] finished in {time.monotonic() - began:.1f}s; what it did:")
    for title, outcome in done:
        print(f"    {title}: {outcome}")
    if stopped:
        print(f"    stopped {' and '.join(stopped)}: nothing is left running")
        print("    (its Pods lived in a private network namespace that ends with the demo)")
    elif ctx.kubeconfig is not None and not ctx.local:
        print(
            "    nothing to stop: the demo used your $KUBECONFIG cluster; to remove what it added:"
        )
        print(f"      helm uninstall {RELEASE} -n {RELEASE_NAMESPACE}")
        print(f"      kubectl delete namespace {DEMO_NAMESPACE}")


def _reexec_in_netns(root: Path) -> int:
    """Run this same command inside a private network namespace (hack/in-netns.sh)."""
    script = root / "hack" / "in-netns.sh"
    env = dict(os.environ, **{IN_NETNS_ENV: "1"})
    # sys.argv[0] is the `meshgate` entry point that started this demo.
    argv = [str(script), sys.argv[0], *sys.argv[1:]]
    print("==> [demo] entering a private network namespace (hack/in-netns.sh)", flush=True)
    return subprocess.run(argv, env=env, check=False).returncode


def run(args: argparse.Namespace) -> int:
    root = (args.root or _default_root()).resolve()
    if not os.environ.get("KUBECONFIG") and not os.environ.get(IN_NETNS_ENV):
        return _reexec_in_netns(root)
    try:
        kubectl, helm = _find_tool("kubectl"), _find_tool("helm")
    except DemoError as exc:
        print(f"meshgate demo: {exc}", file=sys.stderr)
        return 1
    ctx = DemoContext(root=root, state_dir=Path(args.dir).resolve(), kubectl=kubectl, helm=helm)
    return run_steps(ctx)

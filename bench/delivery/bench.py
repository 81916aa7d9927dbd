"""Push delivery benchmark: change -> every affected proxy serving it, under kubelet's delay.

Run inside the test network namespace (`hack/in-netns.sh`), like the e2e suite:

    MESHGATE_TESTBINS=$(cat .local/testbins.path) hack/in-netns.sh \\
        .venv/bin/python bench/delivery/bench.py --out bench/delivery/result.json

A fresh local control plane, the e2e node agent with `--volume-sync-period 60` (a running Pod's
ConfigMap and Secret volumes are projected again only every 60 s, as a kubelet does), meshgate
installed with its chart, and in one meshed namespace a Gateway with `--gateways` proxy replicas
and a Deployment of `--sidecars` injected Pods: every one of them a real meshproxy process. One
Route serves both (`tests/e2e/delivery/delivery_kit.py`): `/change` answers a redirect naming
the change number, so each proxy is asked on its own listener whether it serves a change.

1. `--changes` times: patch the Route's redirect to change n (Kubernetes API, merge patch), then
   ask every proxy every 10 ms until each answers with n; the change's figure is the time from
   the patch call to the last proxy serving n.
2. `--kills` times: SIGKILL the operator process (the node agent restarts it, as a kubelet
   would), patch the Route while it is down, check every proxy still answers the previous change,
   and time from the operator's return (its config server accepting connections again, and the
   ConfigMaps holding the change) to every proxy serving it.

Nothing here asserts a figure: it measures and writes JSON (and a summary on stdout).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests" / "e2e" / "delivery")]

from delivery_kit import ROUTE, Asker, ProxyAt, descendants, operator_pid, route  # noqa: E402
from harness.session import running_agent  # noqa: E402
from helm_release import Release  # noqa: E402
from kubernetes import client, config  # noqa: E402
from workload import meshed_workload  # noqa: E402

from meshgate.localcluster.cluster import LocalCluster  # noqa: E402
from meshgate.localcluster.testbins import bin_dir_from_env  # noqa: E402
from meshgate.localcluster.waiting import wait_for  # noqa: E402

NAMESPACE = "bench-delivery"
POLL = 0.01
CHANGE_TIMEOUT = 30.0
CONFIG_PORT = 15012


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 4),
        "p90": round(percentile(values, 90), 4),
        "p99": round(percentile(values, 99), 4),
        "max": round(max(values), 4),
        "min": round(min(values), 4),
    }


async def until_all_serve(
    askers: list[Asker], change: int, since: float, within: float = CHANGE_TIMEOUT
) -> list[float]:
    """Seconds from `since` until each proxy first answers `change` (raises on timeout)."""

    async def one(asker: Asker) -> float:
        deadline = since + within
        while time.monotonic() < deadline:
            if await asker.change() == change:
                return time.monotonic() - since
            await asyncio.sleep(POLL)
        raise TimeoutError(f"{asker.proxy.pod} never served change {change}")

    return list(await asyncio.gather(*(one(a) for a in askers)))


async def answers(askers: list[Asker]) -> list[int | None]:
    return list(await asyncio.gather(*(a.change() for a in askers)))


def patch_route(custom: client.CustomObjectsApi, change: int) -> None:
    custom.patch_namespaced_custom_object(
        "meshgate.io", "v1alpha1", NAMESPACE, "routes", ROUTE, {"spec": route(change)["spec"]}
    )


def accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def configmaps_hold(core: client.CoreV1Api, change: int) -> bool:
    marker = f"/changed/{change}"
    for name in ("meshgate-gw-edge", "meshgate-mesh"):
        cm = core.read_namespaced_config_map(name, NAMESPACE)
        if marker not in (cm.data or {}).get("config.json", ""):
            return False
    return True


ROLES = (
    ("proxies", (b"meshproxy",)),
    ("operator", (b"meshgate", b"operator")),
    ("kube-apiserver", (b"kube-apiserver",)),
    ("etcd", (b"etcd",)),
    ("kube-controller-manager", (b"kube-controller-manager",)),
    ("node agent", (b"harness",)),
)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) so far of this bench and of every process it started, by
    role: a figure the machine's load barely moves, unlike the wall clock."""
    out: dict[str, float] = {}
    for pid in [os.getpid(), *descendants(os.getpid())]:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = "bench" if pid == os.getpid() else "other"
        for name, marks in ROLES:
            if all(m in argv for m in marks):
                role = name
                break
        out[role] = out.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return out


def cpu_per_change(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {k: round((after.get(k, 0.0) - before.get(k, 0.0)) / n, 4) for k in sorted(after)}


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def run_changes(
    custom: client.CustomObjectsApi, proxies: list[ProxyAt], count: int
) -> dict[str, Any]:
    all_served: list[float] = []
    per_proxy: list[float] = []
    by_kind: dict[str, list[float]] = {"gateway": [], "sidecar": []}

    cpu_before = cpu_seconds()

    async def go() -> None:
        askers = [Asker(p) for p in proxies]
        try:
            for change in range(1, count + 1):
                since = time.monotonic()
                await asyncio.to_thread(patch_route, custom, change)
                seconds = await until_all_serve(askers, change, since)
                all_served.append(max(seconds))
                per_proxy.extend(seconds)
                for asker, s in zip(askers, seconds, strict=True):
                    by_kind[asker.proxy.kind].append(s)
        finally:
            for a in askers:
                a.close()

    asyncio.run(go())
    return {
        "cpu_seconds_per_change": cpu_per_change(cpu_before, cpu_seconds(), count),
        "every_proxy_serving": summary(all_served),
        "each_proxy": summary(per_proxy),
        "gateway_proxies": summary(by_kind["gateway"]),
        "sidecars": summary(by_kind["sidecar"]),
        "raw_every_proxy_serving": [round(s, 4) for s in all_served],
    }


def run_kills(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    proxies: list[ProxyAt],
    agent_pid: int,
    operator_ip: str,
    first_change: int,
    kills: int,
) -> list[dict[str, Any]]:
    rounds = []
    for k in range(kills):
        change = first_change + k
        pid = wait_for(lambda: operator_pid(agent_pid), timeout=120, what="the operator process")
        wait_for(lambda: accepts(operator_ip, CONFIG_PORT), timeout=120, what="config server up")
        os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: not accepts(operator_ip, CONFIG_PORT), timeout=30, what="config server down"
        )
        killed_at = time.monotonic()
        patch_route(custom, change)
        # While it is away: every proxy keeps answering with the last change it had.
        down = asyncio.run(sample_while_down(proxies, operator_ip))
        marks: dict[str, float] = {}
        watcher = threading.Thread(
            target=watch_return, args=(core, operator_ip, change, marks), daemon=True
        )
        watcher.start()
        served = asyncio.run(serve_all(proxies, change, killed_at, 240.0))
        watcher.join()
        all_at = killed_at + max(served)
        returned = max(marks.get("listening", all_at), marks.get("written", all_at))
        flat = [a for sample_answers in down for a in sample_answers]
        rounds.append(
            {
                "change": change,
                "down_samples": len(down),
                "down_answers_last_change": sum(1 for a in flat if a == change - 1),
                "down_answers_other": sum(1 for a in flat if a != change - 1),
                "operator_away_s": round(marks.get("listening", all_at) - killed_at, 3),
                "listening_to_written_s": round(
                    marks.get("written", all_at) - marks.get("listening", all_at), 3
                ),
                "catch_up_after_return_s": round(all_at - returned, 4),
            }
        )
        print(f"kill {k + 1}: {rounds[-1]}", flush=True)
    return rounds


async def sample_while_down(proxies: list[ProxyAt], operator_ip: str) -> list[list[int | None]]:
    """Every proxy's answer, five times 0.2 s apart or until the operator is back."""
    askers = [Asker(p) for p in proxies]
    down: list[list[int | None]] = []
    try:
        for _ in range(5):
            if accepts(operator_ip, CONFIG_PORT):
                break
            down.append(await answers(askers))
            await asyncio.sleep(0.2)
    finally:
        for a in askers:
            a.close()
    return down


def watch_return(
    core: client.CoreV1Api, operator_ip: str, change: int, marks: dict[str, float]
) -> None:
    """When the config server accepts again, and when the ConfigMaps hold `change`."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(marks) < 2:
        now = time.monotonic()
        if "listening" not in marks and accepts(operator_ip, CONFIG_PORT):
            marks["listening"] = now
        if "written" not in marks and configmaps_hold(core, change):
            marks["written"] = now
        time.sleep(0.005)


async def serve_all(
    proxies: list[ProxyAt], change: int, since: float, within: float
) -> list[float]:
    askers = [Asker(p) for p in proxies]
    try:
        return await until_all_serve(askers, change, since, within)
    finally:
        for a in askers:
            a.close()


def operator_metrics(operator_ip: str, port: int) -> str:
    with socket.create_connection((operator_ip, port), timeout=5) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    text = data.decode(errors="replace")
    return "\n".join(
        line
        for line in text.splitlines()
        if line.startswith(("meshgate_config_", "# TYPE meshgate_config"))
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateways", type=int, default=12, help="gateway proxy replicas")
    parser.add_argument("--sidecars", type=int, default=20, help="injected Pods")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--sync-period", type=float, default=60.0, help="kubelet volume sync, s")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started_load = loadavg()
    work = Path(tempfile.mkdtemp(prefix="meshgate-bench-delivery-"))
    cluster = LocalCluster(work / "cluster", bin_dir_from_env(), tie_to_parent=True)
    print(f"control plane: {cluster.start()}", flush=True)
    kubeconfig = str(cluster.kubeconfig_path)
    testbins = bin_dir_from_env()
    result: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "gateway_proxies": args.gateways,
        "sidecars": args.sidecars,
        "volume_sync_period_s": args.sync_period,
        "load_at_start": started_load,
    }
    try:
        agent_dir = work / "agent"
        agent_dir.mkdir()
        extra = ["--volume-sync-period", str(args.sync_period)]
        with running_agent(kubeconfig, agent_dir, extra) as agent:
            release = Release(
                helm=testbins / "helm", kubectl=testbins / "kubectl", kubeconfig=kubeconfig
            )
            release.install()
            pods = wait_for(release.ready_operator_pods, timeout=300, what="operator Ready")
            operator_ip = pods[0]["status"]["podIP"]
            api = config.new_client_from_config(config_file=kubeconfig)
            core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
            probe = "meshgate-bench-injection-probe"
            release.kubectl_run("create", "namespace", probe)
            release.kubectl_run("label", "namespace", probe, "meshgate.io/inject=enabled")
            wait_for(lambda: release.injects(probe), timeout=120, what="the injector called")
            t0 = time.monotonic()
            with meshed_workload(
                api, NAMESPACE, args.gateways, args.sidecars, timeout=900
            ) as proxies:
                result["setup_s"] = round(time.monotonic() - t0, 1)
                result["proxies"] = {
                    "gateway": sum(p.kind == "gateway" for p in proxies),
                    "sidecar": sum(p.kind == "sidecar" for p in proxies),
                }
                print(f"{len(proxies)} proxies streaming after {result['setup_s']} s", flush=True)
                asyncio.run(until_all_serve([Asker(p) for p in proxies], 0, time.monotonic()))
                result["changes"] = run_changes(custom, proxies, args.changes)
                print(
                    json.dumps(
                        {k: v for k, v in result["changes"].items() if not k.startswith("raw")}
                    ),
                    flush=True,
                )
                result["load_after_changes"] = loadavg()
                # Before any kill: the histogram of the process that served the 100 changes.
                result["operator_metrics_after_changes"] = operator_metrics(operator_ip, 19080)
                result["operator_killed"] = run_kills(
                    core, custom, proxies, agent.pid, operator_ip, args.changes + 1, args.kills
                )
                result["operator_metrics_at_end"] = operator_metrics(operator_ip, 19080)
                result["load_at_end"] = loadavg()
            release.uninstall()
    finally:
        cluster.stop()
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text if not args.out else f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

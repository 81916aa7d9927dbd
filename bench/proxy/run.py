"""Proxy benchmark: meshproxy side by side with nginx, HAProxy and Envoy, in one run.

Up to seven targets, each one process with one worker on 127.0.0.1 (see `targets.py`): (a) the
nginx backend alone, then meshproxy ((b) the mypyc build of `--source`, (p) the same source in
pure Python, (m) the `--before` revision), (c) nginx, (d) HAProxy and (e) Envoy each in front of
that same backend. Rounds interleave the targets (a m p b c d e, a m p b c d e, ...) so drift on
this shared machine hits all of them alike. Per target and round: requests/s at saturation (wrk
-t1 -c32, keep-alive), p50/p99 at a paced 2,000 req/s (`paced.py`), RSS idle and under load,
the target process's CPU per request split user/kernel, the load average and the host's steal
time. Then `strace -c` over a fixed number of requests through each proxy, and a py-spy profile
of meshproxy (p, or b without p) at saturation. Writes bench/proxy/REPORT.md and the raw
figures under bench/out/.

Every process is started here and stopped by its own PID in a `finally`; every load is bounded.

    .venv/bin/python bench/proxy/run.py [--runs 3] [--seconds 5] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import hotspots
import procfs
import report
import syscalls
import targets
from processes import Started, compiled_build, free_port, say
from targets import Launch, Target

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PYTHON = str(Path(sys.executable).absolute())
PY_SPY = str(Path(sys.executable).absolute().parent / "py-spy")
# The hand-written reading of the profile, embedded in the report (it names the run it read).
ANALYSIS = HERE / "ANALYSIS.md"


@dataclass
class Sample:
    """One target in one round."""

    target: str
    round: int
    loadavg: float
    steal_percent: float
    rps: float
    requests: int
    wrk_errors: str
    cpu_user_us: float  # per request, the target process's own
    cpu_kernel_us: float
    rss_idle_kib: int
    rss_load_kib: int
    paced: dict[str, Any] = field(default_factory=dict)


def _wrk(port: int, seconds: float, latency: bool = False) -> list[str]:
    argv = ["wrk", "-t1", "-c32", f"-d{seconds:g}s"]
    return (
        [*argv, "--latency", f"http://127.0.0.1:{port}/"]
        if latency
        else [*argv, f"http://127.0.0.1:{port}/"]
    )


def _run_wrk(argv: list[str], seconds: float) -> str:
    say(argv)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    return done.stdout


def _parse_wrk(out: str) -> tuple[float, int, str]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    problems = [
        line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
    ]
    return rps, requests, "; ".join(problems)


def _paced(port: int, args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    argv = [PYTHON, str(HERE / "paced.py"), "--port", str(port)]
    if "requests" in extra:
        argv += ["--requests", str(extra["requests"]), "--rate", str(extra["rate"])]
        argv += ["--connections", str(extra["connections"])]
    else:
        argv += ["--rate", f"{args.rate:g}", "--seconds", f"{args.paced_seconds:g}"]
    say(argv)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if not done.stdout.strip():
        raise RuntimeError(f"paced load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class RssPeak:
    """The largest VmRSS of one process while a load runs, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, procfs.rss_kib(self.pid))

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, procfs.rss_kib(self.pid))


def _launch(
    target: Target, workdir: Path, port: int, backend_port: int, args: argparse.Namespace
) -> Launch:
    if target is targets.MESHPROXY_T:
        return targets.meshproxy(workdir, port, backend_port, free_port(), args.compiled_dir)
    if target is targets.MESHPROXY_PURE:
        return targets.meshproxy(workdir, port, backend_port, free_port(), args.source_dir)
    if target is targets.MESHPROXY_BEFORE:
        return targets.meshproxy(workdir, port, backend_port, free_port(), args.before_dir)
    if target is targets.NGINX_PROXY:
        return targets.nginx_proxy(workdir, port, backend_port)
    if target is targets.HAPROXY_T:
        return targets.haproxy(workdir, port, backend_port)
    if target is targets.ENVOY:
        return targets.envoy(workdir, port, backend_port, free_port())
    raise ValueError(target.key)


def _measure(pid: int, port: int, target: Target, rnd: int, args: argparse.Namespace) -> Sample:
    time.sleep(0.5)
    rss_idle = procfs.rss_kib(pid)
    _run_wrk(_wrk(port, 1), 1)  # warm-up: connection pools filled, lazy code loaded
    load = procfs.loadavg()
    host0, cpu0 = procfs.host_cpu(), procfs.cpu_time(pid)
    with RssPeak(pid) as rss:
        out = _run_wrk(_wrk(port, args.seconds, latency=True), args.seconds)
    cpu1, host1 = procfs.cpu_time(pid), procfs.host_cpu()
    rps, requests, problems = _parse_wrk(out)
    paced = _paced(port, args)
    sample = Sample(
        target=target.key,
        round=rnd,
        loadavg=load,
        steal_percent=round(procfs.steal_percent(host0, host1), 2),
        rps=rps,
        requests=requests,
        wrk_errors=problems,
        cpu_user_us=round((cpu1.user - cpu0.user) / requests * 1e6, 1),
        cpu_kernel_us=round((cpu1.kernel - cpu0.kernel) / requests * 1e6, 1),
        rss_idle_kib=rss_idle,
        rss_load_kib=rss.peak,
        paced=paced,
    )
    print(
        f"  -> {target.name}: {rps:.0f} req/s, p50 {paced.get('p50_us')} µs "
        f"p99 {paced.get('p99_us')} µs, cpu {sample.cpu_user_us}+{sample.cpu_kernel_us} µs/req, "
        f"rss {rss_idle // 1024}/{rss.peak // 1024} MiB, load {load}, "
        f"steal {sample.steal_percent}%",
        flush=True,
    )
    return sample


def _round(
    rnd: int, backend: Started, backend_port: int, out: Path, args: argparse.Namespace
) -> list[Sample]:
    samples = []
    for target in args.targets:
        print(f"== round {rnd}: ({target.key}) {target.name}", flush=True)
        if not target.proxy:
            samples.append(_measure(backend.pid, backend_port, target, rnd, args))
            continue
        port = free_port()
        workdir = out / f"{target.key}-round{rnd}"
        proxy = Started(target.key, _launch(target, workdir, port, backend_port, args), workdir)
        try:
            proxy.wait_ready(port)
            samples.append(_measure(proxy.pid, port, target, rnd, args))
        finally:
            proxy.stop()
    return samples


def _strace(
    target: Target, backend_port: int, out: Path, args: argparse.Namespace
) -> dict[str, Any]:
    print(f"== strace: ({target.key}) {target.name}", flush=True)
    port = free_port()
    workdir = out / f"{target.key}-strace"
    proxy = Started(target.key, _launch(target, workdir, port, backend_port, args), workdir)
    tracer: subprocess.Popen[bytes] | None = None
    try:
        proxy.wait_ready(port)
        _run_wrk(_wrk(port, 1), 1)  # the upstream pool is open before counting starts
        summary = workdir / "strace.txt"
        argv = ["strace", "-c", "-f", "-p", str(proxy.pid), "-o", str(summary)]
        say(argv)
        tracer = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # strace attaches to every thread
        n = args.strace_requests
        paced = _paced(port, args, requests=n, rate=1000, connections=4)
        os.kill(tracer.pid, signal.SIGINT)  # detach; strace writes its summary
        tracer.wait(20)
        tracer = None
        counted = syscalls.parse_summary(summary.read_text())
        ok = paced["ok"] or 1
        result = {
            "target": target.key,
            "requests": paced["ok"],
            "client_connections": 4,
            "reads_per_request": round(counted.total(syscalls.READS) / ok, 2),
            "failed_reads_per_request": round(counted.failed(syscalls.READS) / ok, 2),
            "writes_per_request": round(counted.total(syscalls.WRITES) / ok, 2),
            "waits_per_request": round(counted.total(syscalls.WAITS) / ok, 2),
            "all_per_request": round(sum(counted.calls.values()) / ok, 2),
            "accepts": counted.total(syscalls.ACCEPTS),
            "connects": counted.total(("connect",)),
            "calls": counted.calls,
        }
        print(f"  -> {result}", flush=True)
        return result
    finally:
        if tracer is not None and tracer.poll() is None:
            os.kill(tracer.pid, signal.SIGINT)
            tracer.wait(20)
        proxy.stop()


def _profile(backend_port: int, out: Path, args: argparse.Namespace) -> hotspots.Profile | None:
    if not Path(PY_SPY).exists():
        print("== profile skipped: py-spy is not installed (the `bench` extra)", flush=True)
        return None
    print("== profile: meshproxy at saturation, py-spy", flush=True)
    port = free_port()
    workdir = out / "profile"
    # The pure-Python run (p) when there is one: py-spy names its Python frames, while the
    # mypyc build's (b) are native code; the two spend their time in the same places.
    target = (
        targets.MESHPROXY_PURE if targets.MESHPROXY_PURE in args.targets else targets.MESHPROXY_T
    )
    proxy = Started(target.key, _launch(target, workdir, port, backend_port, args), workdir)
    load: subprocess.Popen[str] | None = None
    try:
        proxy.wait_ready(port)
        _run_wrk(_wrk(port, 1), 1)
        argv = _wrk(port, args.profile_seconds + 2)
        say(argv)
        load = subprocess.Popen(argv, stdout=subprocess.DEVNULL, text=True)
        time.sleep(1.0)
        raw = workdir / "py-spy.txt"
        spy = [PY_SPY, "record", "-p", str(proxy.pid), "-d", f"{args.profile_seconds:g}"]
        spy += ["-r", "250", "--native", "--format", "raw", "-o", str(raw)]
        say(spy)
        subprocess.run(spy, capture_output=True, timeout=args.profile_seconds + 60, check=True)
        load.wait(args.profile_seconds + 30)
        load = None
        return hotspots.fold(raw.read_text())
    finally:
        if load is not None and load.poll() is None:
            load.terminate()
            load.wait(10)
        proxy.stop()


def _snapshot(out: Path, rev: str, name: str = "src") -> Path:
    """The proxy package as committed at `rev`, so edits in progress never change a run."""
    dest = out / name
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "proxy-image"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    # Byte-compiled, as `pip install` leaves the image and `build_compiled.py` its build: a
    # tree without bytecode compiles every module at each start (PYTHONDONTWRITEBYTECODE is
    # common), which leaves the compiler's garbage in the idle RSS measured here.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest)], check=True, timeout=600)
    return dest / "proxy-image"


def _versions() -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (done.stdout + done.stderr).strip().splitlines()[0]

    return {
        "nginx": first_line([targets.NGINX, "-v"]),
        "haproxy": first_line([targets.HAPROXY, "-v"]),
        "envoy": first_line([targets.envoy_binary(), "--version"]),
        "wrk": first_line(["wrk", "-v"]),
        "python": platform.python_version(),
        "uvloop": metadata.version("uvloop"),
        "httptools": metadata.version("httptools"),
    }


def _machine(source: str) -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", source],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds over all targets (>= 3)")
    parser.add_argument("--seconds", type=float, default=5, help="each saturation run")
    parser.add_argument("--rate", type=float, default=2000, help="paced requests per second")
    parser.add_argument("--paced-seconds", type=float, default=4)
    parser.add_argument("--strace-requests", type=int, default=2000)
    parser.add_argument("--profile-seconds", type=float, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "proxy")
    parser.add_argument("--report", type=Path, default=HERE / "REPORT.md")
    parser.add_argument(
        "--source",
        default="HEAD",
        help="git revision of proxy-image/meshproxy to measure, or `worktree` for the checkout",
    )
    parser.add_argument(
        "--before",
        help="also measure this git revision of meshproxy (pure Python), e.g. the base of a change",
    )
    parser.add_argument(
        "--render", type=Path, metavar="RESULTS_JSON", help="only rewrite the report from a run"
    )
    args = parser.parse_args(argv)
    if args.render:
        args.report.write_text(report.render(json.loads(args.render.read_text()), ANALYSIS))
        print(f"wrote {args.report} from {args.render}")
        return 0
    for tool in ("wrk", targets.NGINX, targets.HAPROXY, "strace"):
        if shutil.which(tool) is None:
            print(f"bench/proxy: {tool} is missing; run `make sysdeps`", file=sys.stderr)
            return 2
    if not Path(targets.envoy_binary()).exists():
        print("bench/proxy: Envoy is missing; install the `bench` extra", file=sys.stderr)
        return 2
    started_at = time.monotonic()
    out = args.out.resolve() / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True)
    args.source_dir = (
        REPO / "proxy-image" if args.source == "worktree" else _snapshot(out, args.source)
    )
    args.compiled_dir = compiled_build(args.source_dir, REPO / ".local" / "meshproxy-compiled")
    args.before_dir = _snapshot(out, args.before, "before") if args.before else None
    pure_only = args.compiled_dir is None  # a revision from before the mypyc build
    if pure_only:
        args.compiled_dir = args.source_dir
    args.targets = [
        t
        for t in targets.ALL
        if not (t is targets.MESHPROXY_PURE and pure_only)
        and not (t is targets.MESHPROXY_BEFORE and args.before_dir is None)
    ]
    machine = _machine("HEAD" if args.source == "worktree" else args.source)
    machine["before"] = _machine(args.before)["commit"] if args.before else None
    machine["compiled"] = not pure_only
    versions = _versions()
    machine["source"] = args.source
    print(f"bench/proxy: {machine} {versions}\nraw output: {out}", flush=True)
    backend_port = free_port()
    backend = Started(
        "backend", targets.backend(out / "a-backend", backend_port), out / "a-backend"
    )
    samples: list[Sample] = []
    traces: list[dict[str, Any]] = []
    try:
        backend.wait_ready(backend_port)
        for rnd in range(1, args.runs + 1):
            samples += _round(rnd, backend, backend_port, out, args)
        for target in args.targets:
            if target.proxy:
                traces.append(_strace(target, backend_port, out, args))
        profile = _profile(backend_port, out, args)
    finally:
        backend.stop()
    machine["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    machine["seconds"] = round(time.monotonic() - started_at)
    raw = {
        "machine": machine,
        "versions": versions,
        "args": {k: str(v) for k, v in vars(args).items()},
        "samples": [asdict(s) for s in samples],
        "strace": traces,
        "profile": asdict(profile) if profile else None,
    }
    (out / "results.json").write_text(json.dumps(raw, indent=2))
    text = report.render(raw, ANALYSIS)
    args.report.write_text(text)
    print(f"\nwrote {args.report} and {out / 'results.json'} in {machine['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

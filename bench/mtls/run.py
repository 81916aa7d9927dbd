"""The mesh hop through real meshproxy sidecars, plaintext vs mTLS, side by side in one run.

Topology on 127.0.0.1, one process each: wrk (or the paced generator) ─▶ outbound sidecar ─▶
inbound sidecar ─▶ nginx (the app, one worker, `return 200`). Four hops (see `sidecars.py`):

- P  plaintext hop (cluster `tls: DISABLE`, inbound PeerAuthentication DISABLE)
- M  mTLS hop (cluster `tls: MESH`, inbound STRICT)
- P1, M1  the same with `connectionPool.maxRequestsPerConnection: 1`: every request dials the
  inbound side anew, so M1 pays one full handshake per request (H3)

With `--before REV`, Pb and Mb are P and M again with both sidecars running that earlier
revision (pure Python), so a change is measured against its base in one run. P, M, P1, M1 run
the measured revision as meshproxy runs it: its mypyc build (`--pure`: the pure-Python source).

P1 and M1 share P's and M's inbound sidecars. Rounds interleave the hops (Pb Mb P M P1 M1, ...) so
drift on this shared machine hits all of them alike. Per hop and round: requests/s at
saturation (wrk -t1 -c32, keep-alive), p50/p99 at a fixed paced rate, CPU per request of each
sidecar (user/kernel from /proc), load average and steal. Then, per round, new connections
straight to the inbound sidecars (`handshakes.py`): H0 plaintext, H1 full TLS handshake, H2
resumed with a TLS 1.3 ticket; and O1/O2, the same handshakes between two in-memory TLS
objects with the sidecars' own contexts, OpenSSL's cost without sockets or event loop.
Writes bench/mtls/REPORT.md and bench/out/mtls/<stamp>/.

Every process is started here and stopped by its own PID in a `finally`; every load is bounded.

    .venv/bin/python bench/mtls/run.py [--runs 5] [--seconds 5] [--before REV]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "bench" / "proxy"))

import handshakes  # noqa: E402
import procfs  # noqa: E402 - bench/proxy's modules, found through the path line above
import render  # noqa: E402
import sidecars  # noqa: E402
import targets  # noqa: E402
from processes import Started, compiled_build, free_port, say  # noqa: E402
from sidecars import IdentityFiles  # noqa: E402

from meshgate.certs.bundle import TrustBundle  # noqa: E402
from meshgate.certs.ca import CertificateAuthority, create_root_ca  # noqa: E402
from meshgate.certs.workload import issue_workload_certificate  # noqa: E402
from meshproxy.config import Identity  # noqa: E402
from meshproxy.tls.contexts import mesh_client_context, server_context  # noqa: E402

PYTHON = str(Path(sys.executable).absolute())
PACED = str(HERE / "paced_host.py")


@dataclass(frozen=True)
class Hop:
    key: str
    name: str
    mtls: bool
    fresh: bool  # one upstream connection per request
    before: bool = False  # both sidecars run the `--before` revision


HOPS_BEFORE = (
    Hop("Pb", "plaintext hop, before", mtls=False, fresh=False, before=True),
    Hop("Mb", "mTLS hop, before", mtls=True, fresh=False, before=True),
)
HOPS = (
    Hop("P", "plaintext hop", mtls=False, fresh=False),
    Hop("M", "mTLS hop", mtls=True, fresh=False),
    Hop("P1", "plaintext, new connection per request", mtls=False, fresh=True),
    Hop("M1", "mTLS, new connection per request", mtls=True, fresh=True),
)


@dataclass(frozen=True)
class Kind:
    key: str
    name: str
    tls: bool
    resume: bool


KINDS = (
    Kind("H0", "plaintext connection", tls=False, resume=False),
    Kind("H1", "TLS, full handshake", tls=True, resume=False),
    Kind("H2", "TLS, resumed (ticket)", tls=True, resume=True),
)


@dataclass
class HopSample:
    hop: str
    round: int
    loadavg: float
    steal_percent: float
    rps: float
    requests: int
    wrk_errors: str
    out_user_us: float  # per request, the outbound sidecar's own CPU
    out_kernel_us: float
    in_user_us: float  # per request, the inbound sidecar's own CPU
    in_kernel_us: float
    paced: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConnSample:
    kind: str
    round: int
    loadavg: float
    steal_percent: float
    connections: int
    failures: int
    reused: int
    per_second: float
    handshake_us: float | None
    total_us: float | None
    total_p90_us: float | None
    in_cpu_us: float  # per connection, the inbound sidecar's user + kernel CPU
    client_cpu_us: float  # per connection, the client thread's CPU


@dataclass
class MemSample:
    """In-memory handshakes with the sidecars' own contexts: what OpenSSL alone costs."""

    kind: str  # O1 full, O2 resumed
    round: int
    handshakes: int
    reused: int
    client_cpu_us: float  # median per handshake
    server_cpu_us: float


@dataclass
class Running:
    """The processes one hop goes through."""

    hop: Hop
    port: int  # the outbound sidecar's listener
    outbound: Started
    inbound: Started


# --- identities ---------------------------------------------------------------------------------


def _identity(directory: Path, sa: str, ca: CertificateAuthority, bundle: TrustBundle) -> Identity:
    issued = issue_workload_certificate(
        ca,
        bundle,
        trust_domain=sidecars.TRUST_DOMAIN,
        namespace=sidecars.NAMESPACE,
        service_account=sa,
        now=datetime.now(UTC),
    )
    directory.mkdir(parents=True)
    files = IdentityFiles(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
    files.cert_file.write_text(issued.cert_pem)
    files.key_file.write_text(issued.key_pem)
    files.ca_file.write_text(bundle.to_pem())
    return Identity(
        cert_file=str(files.cert_file),
        key_file=str(files.key_file),
        ca_file=str(files.ca_file),
        trust_domain=sidecars.TRUST_DOMAIN,
    )


def _files(identity: Identity) -> IdentityFiles:
    return IdentityFiles(Path(identity.cert_file), Path(identity.key_file), Path(identity.ca_file))


# --- processes ----------------------------------------------------------------------------------


def _admin_ready(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/ready")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def _through(port: int, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _answers(port: int, host: str) -> Callable[[], bool]:
    return lambda: _through(port, host) == 200


def _wait(what: str, check: Callable[[], bool], proc: Started, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            break
        try:
            if check():
                return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready ({last}): {proc.log_tail()}")


@contextmanager
def _started(name: str, launch: targets.Launch, workdir: Path, admin: int) -> Iterator[Started]:
    proc = Started(name, launch, workdir)
    try:
        _wait(f"{name} /ready", lambda: _admin_ready(admin), proc)
        yield proc
    finally:
        proc.stop()


# --- load ----------------------------------------------------------------------------------------


def _wrk(port: int, host: str, seconds: float) -> tuple[float, int, str]:
    argv = ["wrk", "-t1", "-c32", f"-d{seconds:g}s", "-H", f"Host: {host}"]
    argv.append(f"http://127.0.0.1:{port}/")
    say(argv)
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    problems = [
        line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
    ]
    return rps, requests, "; ".join(problems)


def _paced(port: int, host: str, rate: float, seconds: float) -> dict[str, Any]:
    argv = [PYTHON, PACED, "--host", host, "--port", str(port)]
    argv += ["--rate", f"{rate:g}", "--seconds", f"{seconds:g}"]
    say(argv)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if not done.stdout.strip():
        raise RuntimeError(f"paced load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _per(delta: float, n: int) -> float:
    return round(delta / max(n, 1) * 1e6, 1)


def _measure_hop(run: Running, rnd: int, host: str, args: argparse.Namespace) -> HopSample:
    _wrk(run.port, host, 1)  # warm-up: upstream pool filled, lazy code loaded
    load = procfs.loadavg()
    host0 = procfs.host_cpu()
    out0, in0 = procfs.cpu_time(run.outbound.pid), procfs.cpu_time(run.inbound.pid)
    rps, requests, problems = _wrk(run.port, host, args.seconds)
    out1, in1 = procfs.cpu_time(run.outbound.pid), procfs.cpu_time(run.inbound.pid)
    host1 = procfs.host_cpu()
    rate = args.fresh_rate if run.hop.fresh else args.rate
    paced = _paced(run.port, host, rate, args.paced_seconds)
    sample = HopSample(
        hop=run.hop.key,
        round=rnd,
        loadavg=load,
        steal_percent=round(procfs.steal_percent(host0, host1), 2),
        rps=rps,
        requests=requests,
        wrk_errors=problems,
        out_user_us=_per(out1.user - out0.user, requests),
        out_kernel_us=_per(out1.kernel - out0.kernel, requests),
        in_user_us=_per(in1.user - in0.user, requests),
        in_kernel_us=_per(in1.kernel - in0.kernel, requests),
        paced=paced,
    )
    print(
        f"  -> {run.hop.key}: {rps:.0f} req/s, p50 {paced.get('p50_us')} µs "
        f"p99 {paced.get('p99_us')} µs at {rate:g}/s, cpu out "
        f"{sample.out_user_us}+{sample.out_kernel_us} in {sample.in_user_us}+"
        f"{sample.in_kernel_us} µs/req, load {load}, steal {sample.steal_percent}%",
        flush=True,
    )
    return sample


def _measure_conns(
    kind: Kind,
    rnd: int,
    inbound: Started,
    inbound_port: int,
    host: str,
    client: ssl.SSLContext,
    args: argparse.Namespace,
) -> ConnSample:
    load = procfs.loadavg()
    host0, in0 = procfs.host_cpu(), procfs.cpu_time(inbound.pid)
    got = handshakes.connect_loop(
        inbound_port,
        host,
        client if kind.tls else None,
        resume=kind.resume,
        count=args.handshakes,
        seconds=args.handshake_seconds,
    )
    in1, host1 = procfs.cpu_time(inbound.pid), procfs.host_cpu()
    n = got.connections
    p90 = None
    if len(got.total_us) >= 10:
        p90 = round(sorted(got.total_us)[int(len(got.total_us) * 0.9)], 1)
    hs, total = got.median_handshake_us(), got.median_total_us()
    sample = ConnSample(
        kind=kind.key,
        round=rnd,
        loadavg=load,
        steal_percent=round(procfs.steal_percent(host0, host1), 2),
        connections=n,
        failures=got.failures,
        reused=got.reused,
        per_second=round(got.per_second, 1),
        handshake_us=round(hs, 1) if hs is not None else None,
        total_us=round(total, 1) if total is not None else None,
        total_p90_us=p90,
        in_cpu_us=_per((in1.user - in0.user) + (in1.kernel - in0.kernel), n),
        client_cpu_us=_per(got.client_cpu_s, n),
    )
    print(
        f"  -> {kind.key}: {n} connections ({got.failures} failed, {got.reused} resumed), "
        f"{sample.per_second}/s, handshake {sample.handshake_us} µs, connection+request "
        f"{sample.total_us} µs, inbound cpu {sample.in_cpu_us} µs/conn, load {load}, "
        f"steal {sample.steal_percent}%",
        flush=True,
    )
    return sample


def _measure_memory(
    rnd: int, client: ssl.SSLContext, server: ssl.SSLContext, args: argparse.Namespace
) -> list[MemSample]:
    samples = []
    for key, resume in (("O1", False), ("O2", True)):
        got = handshakes.in_memory(
            client, server, resume=resume, count=args.handshakes, seconds=args.handshake_seconds
        )
        sample = MemSample(
            kind=key,
            round=rnd,
            handshakes=got.handshakes,
            reused=got.reused,
            client_cpu_us=round(statistics.median(got.client_us), 1),
            server_cpu_us=round(statistics.median(got.server_us), 1),
        )
        print(
            f"  -> {key}: {got.handshakes} in-memory handshakes ({got.reused} resumed), "
            f"CPU client {sample.client_cpu_us} µs, server {sample.server_cpu_us} µs",
            flush=True,
        )
        samples.append(sample)
    return samples


def _last_peer(access_log: Path) -> str | None:
    """The `peer_identity` of the last request an inbound sidecar logged (None: plaintext)."""
    with access_log.open("rb") as f:
        f.seek(max(0, access_log.stat().st_size - 8192))
        last = f.read().decode(errors="replace").strip().splitlines()[-1]
    got = json.loads(last).get("peer_identity")
    return str(got) if got is not None else None


# --- the run -------------------------------------------------------------------------------------


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
    return dest / "proxy-image"


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
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    nginx = subprocess.run([targets.NGINX, "-v"], capture_output=True, text=True, check=False)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "uvloop": metadata.version("uvloop"),
        "wrk": (wrk.stdout + wrk.stderr).strip().splitlines()[0],
        "nginx": (nginx.stdout + nginx.stderr).strip().splitlines()[0],
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _measure_all(
    out: Path, source: Path, before: Path | None, args: argparse.Namespace
) -> dict[str, Any]:
    ca = create_root_ca(sidecars.TRUST_DOMAIN, datetime.now(UTC))
    bundle = TrustBundle.of([ca.cert])
    front = _identity(out / "identity" / "frontend", "frontend", ca, bundle)
    back = _identity(out / "identity" / "backend", "backend", ca, bundle)
    client = mesh_client_context(front)  # what the outbound sidecar dials with
    server = server_context(back, True)  # what a STRICT inbound sidecar serves with
    app_port = free_port()
    host = f"{sidecars.HOST}:{app_port}"
    hop_samples: list[HopSample] = []
    conn_samples: list[ConnSample] = []
    mem_samples: list[MemSample] = []
    peers: dict[str, str | None] = {}
    with ExitStack() as stack:
        app = stack.enter_context(_app(out / "app", app_port))
        inbound: dict[tuple[bool, bool], tuple[Started, int]] = {}
        sources = {False: source, True: before}
        for was, mtls in ((w, m) for w in (False, True) for m in (False, True)):
            if sources[was] is None:
                continue
            port, admin = free_port(), free_port()
            name = ("in-M" if mtls else "in-P") + ("b" if was else "")
            launch = sidecars.inbound(
                out / name,
                port=port,
                app_port=app_port,
                mtls=mtls,
                identity=_files(back),
                admin_port=admin,
                source=sources[was],
            )
            run = _started(name, launch, out / name, admin)
            inbound[was, mtls] = (stack.enter_context(run), port)
        running: list[Running] = []
        for hop in (*(HOPS_BEFORE if before is not None else ()), *HOPS):
            port, admin = free_port(), free_port()
            name = f"out-{hop.key}"
            launch = sidecars.outbound(
                out / name,
                port=port,
                app_port=app_port,
                peer_inbound_port=inbound[hop.before, hop.mtls][1],
                mtls=hop.mtls,
                identity=_files(front),
                admin_port=admin,
                source=sources[hop.before],
                max_requests_per_connection=1 if hop.fresh else 0,
            )
            proc = stack.enter_context(_started(name, launch, out / name, admin))
            _wait(f"{name} → app", _answers(port, host), proc)
            running.append(Running(hop, port, proc, inbound[hop.before, hop.mtls][0]))
        print(f"app (nginx) pid {app.pid} on {app_port}; every sidecar ready", flush=True)
        for rnd in range(1, args.runs + 1):
            for run in running:
                print(f"== round {rnd}: ({run.hop.key}) {run.hop.name}", flush=True)
                hop_samples.append(_measure_hop(run, rnd, host, args))
                if run.hop.key in ("P", "M") and run.hop.key not in peers:
                    # The hop is what it says: the inbound side saw the caller's SPIFFE ID, or none.
                    peers[run.hop.key] = _last_peer(out / f"in-{run.hop.key}" / "access.log")
                    print(f"  -> {run.hop.key}: inbound logged peer {peers[run.hop.key]}")
            for kind in KINDS:
                print(f"== round {rnd}: ({kind.key}) {kind.name}", flush=True)
                proc, port = inbound[False, kind.tls]
                conn_samples.append(_measure_conns(kind, rnd, proc, port, host, client, args))
            print(f"== round {rnd}: (O1, O2) in-memory handshakes, no sockets", flush=True)
            mem_samples += _measure_memory(rnd, client, server, args)
    return {
        "peer_identity": peers,
        "hops": [asdict(s) for s in hop_samples],
        "connections": [asdict(s) for s in conn_samples],
        "in_memory": [asdict(s) for s in mem_samples],
    }


@contextmanager
def _app(workdir: Path, port: int) -> Iterator[Started]:
    proc = Started("app", targets.backend(workdir, port), workdir)
    try:
        proc.wait_ready(port)
        yield proc
    finally:
        proc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds over every hop (>= 3)")
    parser.add_argument("--seconds", type=float, default=5, help="each saturation run")
    parser.add_argument("--rate", type=float, default=500, help="paced req/s, P and M")
    parser.add_argument("--fresh-rate", type=float, default=25, help="paced req/s, P1 and M1")
    parser.add_argument("--paced-seconds", type=float, default=4)
    parser.add_argument("--handshakes", type=int, default=500, help="connections per H loop")
    parser.add_argument("--handshake-seconds", type=float, default=4, help="bound per H loop")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "mtls")
    parser.add_argument("--report", type=Path, default=HERE / "REPORT.md")
    parser.add_argument(
        "--source",
        default="HEAD",
        help="git revision of proxy-image/meshproxy to run, or `worktree` for the checkout",
    )
    parser.add_argument(
        "--before",
        help="also run the P and M hops on this git revision (pure Python): the base of a change",
    )
    parser.add_argument(
        "--pure", action="store_true", help="run P, M, P1, M1 in pure Python, not the mypyc build"
    )
    parser.add_argument(
        "--render", type=Path, metavar="RESULTS_JSON", help="only rewrite the report from a run"
    )
    args = parser.parse_args(argv)
    if args.render:
        args.report.write_text(render.render(json.loads(args.render.read_text())))
        print(f"wrote {args.report} from {args.render}")
        return 0
    for tool in ("wrk", targets.NGINX):
        if shutil.which(tool) is None:
            print(f"bench/mtls: {tool} is missing; run `make sysdeps`", file=sys.stderr)
            return 2
    started_at = time.monotonic()
    out = args.out.resolve() / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True)
    tree = REPO / "proxy-image" if args.source == "worktree" else _snapshot(out, args.source)
    compiled = None if args.pure else compiled_build(tree, REPO / ".local" / "meshproxy-compiled")
    before = _snapshot(out, args.before, "before") if args.before else None
    machine = _machine("HEAD" if args.source == "worktree" else args.source)
    machine["source"] = args.source
    machine["compiled"] = compiled is not None
    machine["before"] = _machine(args.before)["commit"] if args.before else None
    print(f"bench/mtls: {machine}\nraw output: {out}", flush=True)
    measured = _measure_all(out, compiled or tree, before, args)
    machine["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    machine["seconds"] = round(time.monotonic() - started_at)
    raw = {
        "machine": machine,
        "args": {k: str(v) for k, v in vars(args).items()},
        **measured,
    }
    (out / "results.json").write_text(json.dumps(raw, indent=2))
    args.report.write_text(render.render(raw))
    print(f"\nwrote {args.report} and {out / 'results.json'} in {machine['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

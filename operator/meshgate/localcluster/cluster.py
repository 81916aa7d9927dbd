"""`LocalCluster`: a real etcd, kube-apiserver and kube-controller-manager on 127.0.0.1.

The same code runs behind `make up`, `make demo` and the pytest fixtures, so the tests prove the
environment users run. There is no kubelet: Pods are created and stay Pending (the e2e harness runs
them as local processes). Everything listens on loopback only, on ports chosen free at start.

State directory layout (everything a cluster owns lives under it):

    cluster.json                  marker and endpoints; its presence makes this a state dir
    admin.kubeconfig              user meshgate-admin, group system:masters
    controller-manager.kubeconfig user system:kube-controller-manager
    pki/                          CA, serving, client and service-account keys
    etcd-data/                    etcd's data (no fsync: a test cluster trades durability for speed)
    logs/<component>.log          each process's output
    run/<component>.pid           "<pid> <start-time>" of each process

`restart(component)` stops one running component by its PID and starts it again with the same
command line (same ports, data dir and PKI), for tests of how everything else rides out a
control-plane restart.

This module must never stop a process it did not start (it signals only PIDs from its own pid
files) and never listens on anything but 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from . import processes
from .errors import ClusterStartError
from .kubeconfig import write_kubeconfig
from .pki import SERVICE_CIDR, PkiPaths, create_pki
from .ports import LOOPBACK, free_ports
from .probe import ClientTLS, get, insecure_context
from .testbins import check_bin_dir
from .waiting import WaitTimeout, wait_for

MARKER = "cluster.json"
KUBECONFIG = "admin.kubeconfig"
KCM_KUBECONFIG = "controller-manager.kubeconfig"
ADMIN_USER = "meshgate-admin"
KCM_USER = "system:kube-controller-manager"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"

# Start order; stop runs it backwards so no component spends its last seconds retrying a peer.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager")

ADMISSION_PLUGINS = (
    "NamespaceLifecycle",
    "ServiceAccount",
    "PodSecurity",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ResourceQuota",
    "LimitRanger",
    "DefaultTolerationSeconds",
)

# What a cluster owns inside its state dir: a fresh start removes exactly these, nothing else.
_OWNED = (
    "pki",
    "etcd-data",
    "logs",
    "run",
    "apiserver-certs",
    "kcm-certs",
    MARKER,
    KUBECONFIG,
    KCM_KUBECONFIG,
)


def is_state_dir(path: Path) -> bool:
    """True when `path` is (or was) a LocalCluster state directory."""
    return (path / MARKER).is_file()


@dataclass(frozen=True)
class Endpoints:
    etcd_client_port: int
    etcd_peer_port: int
    apiserver_port: int
    kcm_port: int

    @property
    def server(self) -> str:
        return f"https://{LOOPBACK}:{self.apiserver_port}"

    @property
    def etcd(self) -> str:
        return f"http://{LOOPBACK}:{self.etcd_client_port}"


@dataclass
class StartTimings:
    """Seconds each startup phase took, for the startup line and the README's figures."""

    phases: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.phases.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in self.phases.items())
        return f"{self.total:.1f}s ({parts})"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    alive: bool


@dataclass(frozen=True)
class ClusterStatus:
    state_dir: Path
    server: str | None
    ready: bool
    components: tuple[ComponentStatus, ...]

    @property
    def any_alive(self) -> bool:
        return any(c.alive for c in self.components)


class _PortTaken(ClusterStartError):
    """A port chosen free was taken before our process bound it: worth one more try."""


class LocalCluster:
    """A local control plane in `state_dir`, from the binaries in `bin_dir`.

    `start()` is idempotent (a running cluster is left alone), `stop()` stops every process the
    pid files name. Use as a context manager to stop on exit. `tie_to_parent=True` makes the
    processes die with the Python process that started them (the test fixtures want that; a
    `make up` cluster must outlive its command).
    """

    def __init__(
        self,
        state_dir: Path | str,
        bin_dir: Path | str | None = None,
        *,
        startup_timeout: float = 180.0,
        tie_to_parent: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.bin_dir = Path(bin_dir).resolve() if bin_dir is not None else None
        self.startup_timeout = startup_timeout
        self.tie_to_parent = tie_to_parent
        self._log = log or (lambda _msg: None)
        self.pki = PkiPaths(self.state_dir / "pki")

    # -- paths and recorded state -------------------------------------------------------------

    @property
    def kubeconfig_path(self) -> Path:
        return self.state_dir / KUBECONFIG

    def _log_path(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def _pid_path(self, name: str) -> Path:
        return self.state_dir / "run" / f"{name}.pid"

    def _record(self, name: str) -> processes.ProcessRecord | None:
        return processes.read_record(name, self._pid_path(name), self._log_path(name))

    def endpoints(self) -> Endpoints | None:
        """The ports recorded by the last start, or None when this dir never held a cluster."""
        try:
            data = json.loads((self.state_dir / MARKER).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return Endpoints(**data["endpoints"])

    @property
    def server(self) -> str | None:
        ep = self.endpoints()
        return ep.server if ep else None

    def _admin_tls(self) -> ClientTLS:
        return ClientTLS(
            self.pki.ca_cert, self.pki.client_cert("admin"), self.pki.client_key("admin")
        )

    # -- status -------------------------------------------------------------------------------

    def _apiserver_ready(self, ep: Endpoints) -> bool:
        status, body = get(f"{ep.server}/readyz", context=self._admin_tls().context())
        return status == 200 and body.strip() == "ok"

    def status(self) -> ClusterStatus:
        comps = []
        for name in COMPONENTS:
            rec = self._record(name)
            comps.append(
                ComponentStatus(
                    name, rec.pid if rec else None, bool(rec and processes.is_alive(rec))
                )
            )
        ep = self.endpoints()
        alive = all(c.alive for c in comps)
        ready = bool(alive and ep and self._apiserver_ready(ep))
        return ClusterStatus(self.state_dir, ep.server if ep else None, ready, tuple(comps))

    def is_running(self) -> bool:
        """Every component alive and the API server answering /readyz with ok."""
        return self.status().ready

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> StartTimings | None:
        """Start the control plane and wait until it serves; None when it was already running."""
        if self.is_running():
            return None
        if self.bin_dir is None:
            raise ClusterStartError("LocalCluster.start needs bin_dir (the pinned binaries)")
        bin_dir = check_bin_dir(self.bin_dir)
        # A half-running or dead cluster is not repaired piecemeal: stop what is left, start fresh.
        self.stop()
        self._wipe()
        for attempt in range(3):
            try:
                return self._start_once(bin_dir)
            except _PortTaken as exc:
                self._log(f"==> a chosen port was taken meanwhile, retrying ({exc.args[0]})")
                self.stop()
                shutil.rmtree(self.state_dir / "etcd-data", ignore_errors=True)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> list[str]:
        """Stop every process this state dir recorded, by PID; return the names that were alive."""
        stopped = []
        records = []
        for name in reversed(COMPONENTS):
            rec = self._record(name)
            if rec is None:
                continue
            if processes.is_alive(rec):
                processes.stop(rec, wait_reaped=False)
                stopped.append(name)
                records.append(rec)
            self._pid_path(name).unlink(missing_ok=True)
        processes.wait_until_reaped(records)
        return stopped

    def restart(self, component: str, *, down_for: float = 0.0) -> float:
        """Stop `component` (SIGTERM, by its recorded PID) and start it again in place: the same
        ports, data dir, certificates and flags, so clients reconnect to the same address and
        etcd keeps every object. `down_for` keeps it stopped that many seconds first. Returns
        the seconds from the stop until it, and the API server in front of it, served again.
        With `tie_to_parent`, call it from a thread that outlives the cluster: the kernel's
        parent-death signal follows the thread that started the process, not the whole Python
        process."""
        if component not in COMPONENTS:
            raise ValueError(f"unknown component {component!r}; one of {', '.join(COMPONENTS)}")
        ep = self.endpoints()
        rec = self._record(component)
        if ep is None or rec is None or not processes.is_alive(rec):
            raise ClusterStartError(f"{component} is not running in {self.state_dir}")
        bin_dir = check_bin_dir(self.recorded_bin_dir())
        started = time.monotonic()
        processes.stop(rec)
        if down_for > 0:
            time.sleep(down_for)
        argv, ready = self._component(component, bin_dir, ep)
        self._log(f"==> restarting {component}")
        new = self._spawn(component, argv)
        deadline = started + self.startup_timeout
        self._await(new, ready, f"{component} serving again", deadline)
        # Served again means the cluster serves: after etcd comes back the API server's /readyz
        # reports etcd unready until it has reconnected, and a client would see errors till then.
        self._await(new, lambda: self._apiserver_ready(ep), "the API server ready again", deadline)
        return time.monotonic() - started

    def recorded_bin_dir(self) -> Path:
        """The binaries this cluster runs: those it was given, else those its last start used."""
        if self.bin_dir is not None:
            return self.bin_dir
        data = json.loads((self.state_dir / MARKER).read_text())
        return Path(data["bin_dir"])

    def _component(
        self, name: str, bin_dir: Path, ep: Endpoints
    ) -> tuple[list[str], Callable[[], bool]]:
        """A component's command line and readiness check, as `_start_once` starts it."""
        if name == "etcd":
            return self._etcd_argv(bin_dir, ep), lambda: get(f"{ep.etcd}/health")[0] == 200
        if name == "kube-apiserver":
            return self._apiserver_argv(bin_dir, ep), lambda: self._apiserver_ready(ep)
        kcm_kubeconfig = self.state_dir / KCM_KUBECONFIG
        return (
            self._kcm_argv(bin_dir, ep, kcm_kubeconfig),
            lambda: (
                get(f"https://{LOOPBACK}:{ep.kcm_port}/healthz", context=insecure_context())[0]
                == 200
            ),
        )

    # -- the start itself ---------------------------------------------------------------------

    def _wipe(self) -> None:
        for name in _OWNED:
            path = self.state_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def _start_once(self, bin_dir: Path) -> StartTimings:
        timings = StartTimings()
        deadline = time.monotonic() + self.startup_timeout
        self.state_dir.mkdir(parents=True, exist_ok=True)

        t0 = time.monotonic()
        if not self.pki.ca_cert.exists():
            create_pki(
                self.pki.dir,
                {"admin": (ADMIN_USER, "system:masters"), "controller-manager": (KCM_USER, None)},
            )
        etcd_c, etcd_p, api_p, kcm_p = free_ports(4)
        ep = Endpoints(etcd_c, etcd_p, api_p, kcm_p)
        (self.state_dir / MARKER).write_text(
            json.dumps({"endpoints": ep.__dict__, "bin_dir": str(bin_dir)}, indent=2) + "\n"
        )
        write_kubeconfig(
            self.kubeconfig_path,
            server=ep.server,
            ca_cert=self.pki.ca_cert,
            client_cert=self.pki.client_cert("admin"),
            client_key=self.pki.client_key("admin"),
            user=ADMIN_USER,
        )
        kcm_kubeconfig = write_kubeconfig(
            self.state_dir / KCM_KUBECONFIG,
            server=ep.server,
            ca_cert=self.pki.ca_cert,
            client_cert=self.pki.client_cert("controller-manager"),
            client_key=self.pki.client_key("controller-manager"),
            user=KCM_USER,
        )
        timings.phases["pki"] = time.monotonic() - t0

        try:
            t0 = time.monotonic()
            self._log(f"==> starting etcd on {ep.etcd}")
            etcd = self._spawn("etcd", self._etcd_argv(bin_dir, ep))
            self._await(
                etcd,
                lambda: get(f"{ep.etcd}/health")[0] == 200,
                "etcd /health",
                deadline,
            )
            timings.phases["etcd"] = time.monotonic() - t0

            t0 = time.monotonic()
            self._log(f"==> starting kube-apiserver on {ep.server}")
            api = self._spawn("kube-apiserver", self._apiserver_argv(bin_dir, ep))
            self._await(api, lambda: self._apiserver_ready(ep), "kube-apiserver /readyz", deadline)
            timings.phases["kube-apiserver"] = time.monotonic() - t0

            t0 = time.monotonic()
            self._log("==> starting kube-controller-manager")
            kcm = self._spawn(
                "kube-controller-manager", self._kcm_argv(bin_dir, ep, kcm_kubeconfig)
            )
            self._await(
                kcm,
                lambda: (
                    get(f"https://{LOOPBACK}:{ep.kcm_port}/healthz", context=insecure_context())[0]
                    == 200
                ),
                "kube-controller-manager /healthz",
                deadline,
            )
            # The serviceaccount controller creating `default` proves the controllers run; Pods
            # are refused by the ServiceAccount admission plugin until it exists.
            tls = self._admin_tls().context()
            self._await(
                kcm,
                lambda: (
                    get(
                        f"{ep.server}/api/v1/namespaces/default/serviceaccounts/default",
                        context=tls,
                    )[0]
                    == 200
                ),
                "the default ServiceAccount in namespace default",
                deadline,
            )
            timings.phases["kube-controller-manager"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return timings

    def _spawn(self, name: str, argv: list[str]) -> processes.ProcessRecord:
        return processes.start(
            name,
            argv,
            log_path=self._log_path(name),
            pid_path=self._pid_path(name),
            tie_to_parent=self.tie_to_parent,
        )

    def _await(
        self,
        rec: processes.ProcessRecord,
        ready: Callable[[], bool],
        what: str,
        deadline: float,
    ) -> None:
        def check() -> bool:
            if not processes.is_alive(rec):
                self._fail(rec, f"{rec.name} exited while waiting for {what}")
            return ready()

        try:
            wait_for(check, timeout=max(0.0, deadline - time.monotonic()), what=what)
        except WaitTimeout as exc:
            self._fail(rec, str(exc))

    def _fail(self, rec: processes.ProcessRecord, message: str) -> None:
        tail = processes.log_tail(rec.log_path)
        error = _PortTaken if "address already in use" in tail else ClusterStartError
        raise error(f"{message}; last lines of {rec.log_path}:\n{tail}")

    # -- command lines ------------------------------------------------------------------------

    def _etcd_argv(self, bin_dir: Path, ep: Endpoints) -> list[str]:
        peer = f"http://{LOOPBACK}:{ep.etcd_peer_port}"
        return [
            str(bin_dir / "etcd"),
            "--name=meshgate-local",
            f"--data-dir={self.state_dir / 'etcd-data'}",
            f"--listen-client-urls={ep.etcd}",
            f"--advertise-client-urls={ep.etcd}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=meshgate-local={peer}",
            "--initial-cluster-state=new",
            # A test cluster is thrown away; fsync would make every write wait for the disk.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_argv(self, bin_dir: Path, ep: Endpoints) -> list[str]:
        return [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={ep.etcd}",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            # The `kubernetes` Service's Endpoints may not hold a loopback address (validation
            # refuses it every ten seconds), and no pod here could dial it anyway: no reconciler.
            "--endpoint-reconciler-type=none",
            f"--secure-port={ep.apiserver_port}",
            f"--cert-dir={self.state_dir / 'apiserver-certs'}",
            f"--tls-cert-file={self.pki.serving_cert}",
            f"--tls-private-key-file={self.pki.serving_key}",
            f"--client-ca-file={self.pki.ca_cert}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={self.pki.sa_pub}",
            f"--service-account-signing-key-file={self.pki.sa_key}",
            "--authorization-mode=RBAC",
            f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
            "--allow-privileged=true",
            "--profiling=false",
            # pods/exec and pods/log dial the e2e node agent's kubelet API at the Node's
            # InternalIP: its Hostname address resolves nowhere.
            "--kubelet-preferred-address-types=InternalIP",
        ]

    def _kcm_argv(self, bin_dir: Path, ep: Endpoints, kubeconfig: Path) -> list[str]:
        return [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={ep.kcm_port}",
            f"--cert-dir={self.state_dir / 'kcm-certs'}",
            "--leader-elect=false",
            # Each controller gets its own ServiceAccount token, as in a real cluster; that needs
            # the token signer's key and the CA it publishes into every namespace.
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={self.pki.sa_key}",
            f"--root-ca-file={self.pki.ca_cert}",
            f"--cluster-signing-cert-file={self.pki.ca_cert}",
            f"--cluster-signing-key-file={self.pki.ca_key}",
            "--profiling=false",
        ]


def cluster_for_kubeconfig(path: Path | str) -> LocalCluster | None:
    """The LocalCluster whose state dir holds kubeconfig `path`, or None for any other cluster."""
    p = Path(path)
    if p.name != KUBECONFIG or not is_state_dir(p.parent):
        return None
    return LocalCluster(p.parent)

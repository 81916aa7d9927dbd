"""Control-plane processes are stopped by their own PID, and a failed start explains itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from meshgate.localcluster import processes
from meshgate.localcluster.cluster import LocalCluster
from meshgate.localcluster.errors import ClusterStartError
from meshgate.localcluster.waiting import wait_for

pytestmark = pytest.mark.integration


def _pid_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_stop_terminates_a_detached_process_and_leaves_no_zombie(tmp_path: Path) -> None:
    rec = processes.start(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(600)"],
        log_path=tmp_path / "sleeper.log",
        pid_path=tmp_path / "sleeper.pid",
    )
    assert processes.is_alive(rec)
    assert processes.read_record("sleeper", tmp_path / "sleeper.pid", rec.log_path) == rec

    processes.stop(rec)

    assert not processes.is_alive(rec)
    assert not _pid_exists(rec.pid)


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('armed', flush=True); time.sleep(600)"
    )
    rec = processes.start(
        "stubborn",
        [sys.executable, "-c", stubborn],
        log_path=tmp_path / "stubborn.log",
        pid_path=tmp_path / "stubborn.pid",
    )
    # SIGTERM must arrive after the handler is installed, or the test proves nothing.
    wait_for(lambda: "armed" in rec.log_path.read_text(), timeout=30, what="the handler")
    processes.stop(rec, timeout=0.5)
    assert not _pid_exists(rec.pid)


def test_a_recycled_pid_is_not_mistaken_for_our_process(tmp_path: Path) -> None:
    # Our own PID, but a start time that is not ours: exactly what a recycled PID looks like.
    me = processes.ProcessRecord("impostor", os.getpid(), 1, tmp_path / "x.log")
    assert not processes.is_alive(me)
    processes.stop(me)  # must not signal this test process


def test_failed_start_reports_the_log_tail_and_leaves_nothing_running(tmp_path: Path) -> None:
    bins = tmp_path / "bin"
    bins.mkdir()
    for name in ("kube-apiserver", "kube-controller-manager"):
        (bins / name).write_text("#!/bin/sh\nexec sleep 600\n")
    (bins / "etcd").write_text("#!/bin/sh\necho 'etcd: cannot open data dir: boom' >&2\nexit 1\n")
    for f in bins.iterdir():
        f.chmod(0o755)

    cluster = LocalCluster(tmp_path / "state", bins, startup_timeout=30)
    with pytest.raises(ClusterStartError, match="boom") as err:
        cluster.start()
    assert "etcd exited" in str(err.value)
    assert not cluster.status().any_alive

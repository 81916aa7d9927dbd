"""Starting and stopping the bench's own processes, each by its own PID, always bounded.

Every process started here is stopped by `Started.stop()` (SIGTERM, then SIGKILL after a
bound); callers do that in a `finally`. Nothing here signals a process it did not start.
"""

from __future__ import annotations

import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from targets import Launch


def free_port() -> int:
    """A port nothing listens on now; the target binds it a moment later."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def say(argv: list[str], env: dict[str, str] | None = None) -> None:
    """Print the command that makes a figure, so a reader can rerun it by hand."""
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in (env or {}).items())
    print("  $ " + prefix + shlex.join(argv), flush=True)


class Started:
    """One process the bench started; its output goes to `<name>.log` in the run dir."""

    def __init__(self, name: str, launch: Launch, workdir: Path) -> None:
        workdir = workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        for filename, content in launch.files.items():
            (workdir / filename).write_text(content)
        for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (workdir / temp).mkdir(exist_ok=True)
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        say(launch.argv, launch.env)
        self.process = subprocess.Popen(
            launch.argv,
            cwd=workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **launch.env},
        )
        self.pid = self.process.pid

    def wait_ready(self, port: int, timeout: float = 20.0) -> None:
        """Until a GET / through `port` answers 200, or fail with the process's log tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/", headers={"Host": "bench.local"})
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready on {port}: {self.log_tail()}")

    def log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()


def compiled_build(proxy_image: Path, into: Path) -> Path | None:
    """The mypyc build of the meshproxy under `proxy_image` (its own `build_compiled.py`), for
    PYTHONPATH; None when that revision has no such script (it predates the compiled build).
    `into` is the build cache (`.local/meshproxy-compiled`, shared with `make`): builds are keyed
    by a digest of the source, so a snapshot of the checked-out commit reuses `make`'s build."""
    script = proxy_image / "build_compiled.py"
    if not script.exists():
        return None
    argv = [sys.executable, str(script), "--into", str(into)]
    say(argv)
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=1800)
    return Path(done.stdout.strip())

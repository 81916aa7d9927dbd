"""Detached processes with a log file and a pid file, stopped by their own PID.

A process started here outlives the Python process that started it (its own session, stdin from
/dev/null, output into a log file), unless the caller ties it to its parent. Its pid file records
the PID and the kernel's start time of that PID, so a stop never signals a recycled PID that now
belongs to somebody else.

This module must never find or signal processes by name (no pkill, no scanning for binaries):
other control planes on the same machine are not ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .waiting import WaitTimeout, wait_for

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcessRecord:
    """Enough to find one started process again, from this or another Python process."""

    name: str
    pid: int
    # The PID's start time in clock ticks since boot (/proc/<pid>/stat field 22); None where
    # /proc is missing, in which case the PID alone is trusted.
    start_time: int | None
    log_path: Path


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of a PID from /proc, or None when the PID does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces; fields after it are plain.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def _start_time(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def _die_with_parent() -> None:
    """preexec_fn: ask the kernel to SIGTERM the child when the starting process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    pid_path: Path,
    env: dict[str, str] | None = None,
    tie_to_parent: bool = False,
) -> ProcessRecord:
    """Start `argv` detached, output appended to `log_path`, and record it in `pid_path`.

    `tie_to_parent=True` makes the child die when this process dies: the test fixtures use it so
    an interrupted test run leaves no control plane behind; `meshgate cluster up` does not.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    preexec: Callable[[], None] | None = _die_with_parent if tie_to_parent else None
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            # prctl must run in the child between fork and exec; nothing else runs there.
            preexec_fn=preexec,
            close_fds=True,
        )
    # The child is detached on purpose and `stop`/`is_alive` reap it by PID; marking the Popen
    # finished keeps its finalizer from warning that a child is still running.
    proc.returncode = 0
    record = ProcessRecord(name, proc.pid, _start_time(proc.pid), log_path)
    pid_path.write_text(f"{record.pid} {record.start_time or ''}\n")
    return record


def read_record(name: str, pid_path: Path, log_path: Path) -> ProcessRecord | None:
    """The record a `start` wrote, or None when there is no (readable) pid file."""
    try:
        parts = pid_path.read_text().split()
    except FileNotFoundError:
        return None
    if not parts or not parts[0].isdigit():
        return None
    start_time = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return ProcessRecord(name, int(parts[0]), start_time, log_path)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_alive(record: ProcessRecord) -> bool:
    """True while the recorded process (that exact one, not a recycled PID) is running."""
    _reap(record.pid)
    stat = _proc_stat(record.pid)
    if stat is None:
        if Path("/proc/self/stat").exists():
            return False
        try:  # no /proc: the PID alone is all we have
            os.kill(record.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    state, start_time = stat
    if state == "Z":
        return False
    return record.start_time is None or start_time == record.start_time


def _gone(record: ProcessRecord) -> bool:
    """True once the PID has left the process table (no zombie of it either)."""
    _reap(record.pid)
    stat = _proc_stat(record.pid)
    return stat is None or (record.start_time is not None and stat[1] != record.start_time)


def stop(record: ProcessRecord, *, timeout: float = 15.0, wait_reaped: bool = True) -> None:
    """SIGTERM the process, SIGKILL it if it outlives `timeout`, and wait until it has exited.

    With `wait_reaped` it also waits until the PID has left the process table (see
    `wait_reaped`); callers stopping several processes pass False and wait once for all.
    """
    if is_alive(record):
        try:
            _terminate(record, timeout)
        finally:
            if wait_reaped:
                wait_until_reaped([record])


def wait_until_reaped(records: Sequence[ProcessRecord], timeout: float = 5.0) -> None:
    """Best effort: wait until exited processes are no longer zombies.

    A detached process's zombie is reaped by init, not by us, a moment after it exits; waiting
    for that makes "stopped" also mean "gone from the process table".
    """
    with contextlib.suppress(WaitTimeout):
        wait_for(
            lambda: all(_gone(r) for r in records), timeout=timeout, what="processes to be reaped"
        )


def _terminate(record: ProcessRecord, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    try:
        wait_for(
            lambda: not is_alive(record), timeout=timeout, what=f"{record.name} to exit on SIGTERM"
        )
        return
    except WaitTimeout:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(record), timeout=10.0, what=f"{record.name} to exit on SIGKILL")


def log_tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file, or a note when there is none."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])

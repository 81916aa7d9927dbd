"""System calls per proxied request, from `strace -c -f` over a fixed number of requests.

Only the parsing of strace's summary table lives here; the runner attaches strace to a target it
started, sends a fixed count of requests through it, and detaches strace by its own PID.
"""

from __future__ import annotations

from dataclasses import dataclass

READS = ("read", "readv", "recvfrom", "recvmsg", "recv")
WRITES = ("write", "writev", "sendto", "sendmsg", "send")
ACCEPTS = ("accept", "accept4")
WAITS = ("epoll_wait", "epoll_pwait", "epoll_pwait2")


@dataclass(frozen=True)
class Syscalls:
    calls: dict[str, int]  # syscall -> calls, errors included
    errors: dict[str, int]

    def total(self, names: tuple[str, ...]) -> int:
        return sum(self.calls.get(n, 0) for n in names)

    def failed(self, names: tuple[str, ...]) -> int:
        return sum(self.errors.get(n, 0) for n in names)


def parse_summary(text: str) -> Syscalls:
    """Read strace -c's table: `% time  seconds  usecs/call  calls  errors  syscall`."""
    calls: dict[str, int] = {}
    errors: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0].startswith(("%", "-")) or parts[-1] == "total":
            continue
        try:
            float(parts[0])
            count = int(parts[3])
        except ValueError:
            continue
        name = parts[-1]
        calls[name] = count
        errors[name] = int(parts[4]) if len(parts) == 6 else 0
    return Syscalls(calls, errors)

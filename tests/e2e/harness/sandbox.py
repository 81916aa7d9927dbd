"""A network namespace of its own for a Pod whose programs bind wildcard addresses.

Most local Pods share the agent's network namespace and bind their own address (see
`podnet.py`). A program that binds `:3000` (the Gateway API suite's echo-basic) cannot share it
with a second copy of itself, so its Pod gets what a node gives every Pod: a namespace, held open
by a pause process (`unshare --net`, as a pod sandbox's pause container does), joined to the
agent's namespace by a veth pair. Inside: `lo`, and the Pod's address on `eth0` with a default
route out of it. Outside: a /32 route to the host end, in the `local` table where the agent's /24
`local` route lives, so the longer prefix wins for this one address; replies and probes come
from the node's address. A sandboxed Pod reaches the agent's namespace (every Pod sharing it,
every Service address), not another sandboxed Pod: nothing the suite runs needs that.

This module must never touch a link, route or process it did not create.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import os
import signal
from dataclasses import dataclass

_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1


class SandboxError(RuntimeError):
    """The Pod's network namespace could not be made; the message says which step failed."""


def host_link(pod_ip: str) -> str:
    """The host end's name: at most 15 characters, one per Pod address."""
    return f"mg{int(ipaddress.IPv4Address(pod_ip)):08x}"


def outside_script(link: str, pod_ip: str, node_ip: str) -> str:
    """`ip -batch` lines for the agent's namespace, once the veth pair exists."""
    return f"link set {link} up\nroute add {pod_ip}/32 dev {link} src {node_ip} table local\n"


def inside_script(pod_ip: str) -> str:
    """`ip -batch` lines for the Pod's namespace."""
    return (
        "link set lo up\n"
        f"address add {pod_ip}/32 dev eth0\n"
        "link set eth0 up\n"
        "route add default dev eth0\n"
    )


def _new_netns_tied_to_agent() -> None:
    # Runs in the child between fork and exec: die with the agent, then leave its namespace.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if libc.unshare(_CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")


async def _ip(*args: str, stdin: str | None = None) -> None:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        raise SandboxError(f"`{' '.join(args)}` failed: {err.decode(errors='replace').strip()}")


@dataclass
class PodSandbox:
    pod_ip: str
    link: str
    pause: asyncio.subprocess.Process
    link_created: bool = False

    @property
    def netns_path(self) -> str:
        return f"/proc/{self.pause.pid}/ns/net"

    @classmethod
    async def create(cls, pod_ip: str, node_ip: str) -> PodSandbox:
        # preexec_fn has run (the namespace exists) by the time the process is returned.
        pause = await asyncio.create_subprocess_exec(
            "sleep",
            "infinity",
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_new_netns_tied_to_agent,
        )
        sandbox = cls(pod_ip, host_link(pod_ip), pause)
        try:
            await _ip(
                "ip", "link", "add", sandbox.link, "type", "veth",
                "peer", "name", "eth0", "netns", str(pause.pid),
            )  # fmt: skip
            sandbox.link_created = True
            await _ip("ip", "-batch", "-", stdin=outside_script(sandbox.link, pod_ip, node_ip))
            await _ip(
                "nsenter", f"--net={sandbox.netns_path}", "--",
                "ip", "-batch", "-", stdin=inside_script(pod_ip),
            )  # fmt: skip
        except BaseException:
            await sandbox.destroy()
            raise
        return sandbox

    def enter(self, argv: list[str]) -> list[str]:
        """argv run inside the Pod's namespace (nsenter execs it: the PID stays the program's)."""
        return ["nsenter", f"--net={self.netns_path}", "--", *argv]

    async def destroy(self) -> None:
        """Delete the veth pair (its route goes with it) and stop the pause process."""
        if self.link_created:
            with contextlib.suppress(SandboxError):
                await _ip("ip", "link", "delete", self.link)
            self.link_created = False
        if self.pause.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pause.pid, signal.SIGKILL)
        await self.pause.wait()

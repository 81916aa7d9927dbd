"""Where meshproxy's time goes: a py-spy sample file folded into shares by part of the proxy.

Input is py-spy's raw (collapsed) format, one `frame;frame;...;leaf count` line per stack, with
native frames (`--native`). Each sample is charged to one bucket, found by walking its stack from
the leaf upwards: a libc system call is kernel work; otherwise the first frame from a known
part of the proxy names the bucket, so json encoding under the access log counts as access log.
Pure: parses text, returns numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# (bucket, substring of the frame's location), checked in order for each frame.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("access log", "meshproxy/observability/accesslog"),
    ("metrics", "meshproxy/observability/metrics"),
    ("tracing ids", "meshproxy/layers/tracing"),
    ("tracing ids", "meshproxy/policy/tracing"),
    ("route match", "meshproxy/layers/route"),
    ("route match", "meshproxy/policy/routing"),
    ("route match", "meshproxy/policy/paths"),
    ("upstream (pool, balance, upstream protocol)", "meshproxy/upstream/"),
    ("upstream (pool, balance, upstream protocol)", "meshproxy/layers/upstream"),
    ("upstream (pool, balance, upstream protocol)", "meshproxy/policy/balancer"),
    ("other layers", "meshproxy/layers/"),
    ("HTTP heads and framing", "meshproxy/http/"),
    ("stack (finish: log record, stats)", "meshproxy/stack"),
    ("client protocol (parser callbacks, dispatch, write)", "meshproxy/server/"),
    ("other meshproxy", "meshproxy/"),
    ("httptools parser (C)", "httptools"),
    ("httptools parser (C)", "llhttp"),
    ("event loop (uvloop, asyncio)", "uvloop"),
    ("event loop (uvloop, asyncio)", "loop.c"),
    ("event loop (uvloop, asyncio)", "asyncio/"),
    ("event loop (uvloop, asyncio)", "libuv"),
)
SYSCALLS = re.compile(
    r"^(__libc_)?(write|writev|read|readv|recv|recvfrom|recvmsg|send|sendto|sendmsg|"
    r"epoll_wait|epoll_pwait|epoll_ctl|accept4?|connect|close|clock_gettime|getpid|"
    r"syscall)\b"
)
FRAME = re.compile(r"^(?P<func>.*?) \((?P<where>[^()]*)\)$")


@dataclass(frozen=True)
class Profile:
    samples: int
    buckets: list[tuple[str, int]]  # most samples first
    leaf_python: list[tuple[str, int]]  # the innermost Python frame of each sample
    inclusive: list[tuple[str, int]]  # meshproxy functions anywhere on the stack


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for raw in stack.split(";"):
        match = FRAME.match(raw)
        out.append((match["func"], match["where"]) if match else (raw, ""))
    return out


def _bucket(frames: list[tuple[str, str]]) -> str:
    for func, where in reversed(frames):
        call = SYSCALLS.match(func)
        if call and "libc" in where:
            return f"kernel: {call[2]}"
        if ".py:" in where or "loop.c" in where:
            break  # only the native frames under the innermost Python or uvloop frame
    for _, where in reversed(frames):
        for name, needle in BUCKETS:
            if needle in where:
                return name
    return "other (interpreter, C library)"


def fold(raw: str, top: int = 15) -> Profile:
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        total += count
        buckets[_bucket(frames)] += count
        python = [f"{func} ({where})" for func, where in frames if ".py:" in where]
        if python:
            leaves[python[-1]] += count
        seen = {
            f"{func} ({where.rsplit(':', 1)[0]})"
            for func, where in frames
            if "meshproxy/" in where and ".py:" in where
        }
        for name in seen:
            inclusive[name] += count
    return Profile(
        samples=total,
        buckets=buckets.most_common(),
        leaf_python=leaves.most_common(top),
        inclusive=inclusive.most_common(top),
    )

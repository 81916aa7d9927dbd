"""`meshgate operator` / `python -m meshgate.handlers.run`: the operator's process.

kopf imports the generated `kubernetes` package whenever it is importable (to recognise its model
objects and to borrow its login), and that package loads every model class of every API group:
about 33 MiB resident that the operator never uses, since it speaks to the API server through its
own client (`meshgate.kube.rest`). So before anything imports kopf, this entry marks the package
as absent in this process; kopf then takes the operator's own login (`handlers.startup`). See
docs/architecture.md. Nothing here imports kopf: `meshgate.handlers.operator` does, once the
package is kept out.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import sys

CONTROLLERS = ("routing", "identity", "injection")
# What the operator's process must never load (a top-level package name).
GENERATED_CLIENT = "kubernetes"


def keep_generated_client_out() -> bool:
    """Make `import kubernetes` fail in this process from now on (a `None` entry in
    `sys.modules` is how Python says "absent"). False when it was imported already, which
    cannot be undone: only an import before this call does that."""
    if sys.modules.get(GENERATED_CLIENT) is not None:
        return False
    sys.modules[GENERATED_CLIENT] = None  # type: ignore[assignment]
    return True


# glibc's M_ARENA_MAX: how many malloc arenas threads may spread over (default 8 per core). The
# operator's worker threads (the reconcile, the status lane's writers, the watches) each decoding
# large JSON in an arena of its own left the peak RSS ~9 MiB higher at 1,000 Routes for no speed.
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas before any thread starts, unless `MALLOC_ARENA_MAX` is set
    (an operator's own choice wins). False where the C library is not glibc."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


# glibc's M_MMAP_THRESHOLD: allocations from this size on get pages of their own, returned to the
# system when freed. glibc raises the threshold to the size of every such block freed (up to 32
# MiB), so after the first large answer, API pages, config texts, gzip output and request bodies
# were all carved out of the heap, where each left a hole that only raised the high-water mark.
# Fixed here, glibc no longer moves it.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Keep glibc's mmap threshold at `size` for good, unless `MALLOC_MMAP_THRESHOLD_` is set.
    False where the C library is not glibc."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, size))
    except (OSError, AttributeError):
        return False


# asyncio gives every TLS connection a read buffer of 256 KiB, filled with zeros when the
# connection opens, so all of it is resident: kopf's watches (one connection per watched kind)
# and every proxy streaming its config from the config server each hold one. 64 KiB still takes
# the largest TLS record (16 KiB) four at a time.
TLS_READ_BUFFER = 64 * 1024


def shrink_tls_read_buffers(size: int = TLS_READ_BUFFER) -> None:
    """Give the asyncio TLS connections this process opens from now on a `size` read buffer.
    `SSLProtocol.max_size` is where asyncio reads it from (every connection sizes its buffer,
    and each read, by it); there is no public setting."""
    from asyncio import sslproto

    sslproto.SSLProtocol.max_size = size


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="debug logging, kopf's included")
    parser.add_argument(
        "--controllers",
        default=",".join(CONTROLLERS),
        help="which controllers to run, comma-separated (default: all; injection only when "
        "MESHGATE_INJECTION_ENABLED). For debugging and tests, one controller alone.",
    )


def run(args: argparse.Namespace) -> int:
    keep_generated_client_out()
    limit_malloc_arenas()
    fix_mmap_threshold()
    shrink_tls_read_buffers()
    from .operator import run as operate

    return operate(args)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="meshgate operator", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

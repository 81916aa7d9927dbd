"""Open-file limit: every client connection is a file descriptor, so a proxy that holds
`maxConnections` needs at least that many. Raised once at start to the hard limit, as Go's
runtime and Envoy's launchers do; a container sets the hard limit."""

from __future__ import annotations

import contextlib
import resource


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft

"""Before kopf starts: what a first run most often lacks, said in one line with what to do.

Started against a cluster without its namespace, the operator used to start anyway, fail every
handler that writes there and log a long traceback at every retry. `wait_for_cluster` checks
first: no credentials ends the process with one line; an unreachable API server or a missing
namespace is one line per retry (backing off to 30 s) until it is fixed, then start-up goes on.

The messages are built by pure functions; only `wait_for_cluster` does I/O. Nothing here may
print a traceback or a credential.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from meshgate.kube.rest import NAMESPACE, KubeError, Rest, connect
from meshgate.settings import Settings

log = logging.getLogger("meshgate.preflight")

FIRST_WAIT, MAX_WAIT = 2.0, 30.0


def missing_namespace(settings: Settings) -> str:
    ns = settings.operator_namespace
    return (
        f"namespace {ns!r} does not exist: the operator keeps its CA, webhook certificate and "
        f"mesh-wide policies there. Create it (kubectl create namespace {ns}) or set "
        "MESHGATE_OPERATOR_NAMESPACE to the namespace the operator runs in; waiting for it"
    )


def unreachable(host: str, why: str) -> str:
    return (
        f"cannot reach the Kubernetes API server at {host} ({why}): check KUBECONFIG and that "
        "the cluster is up; retrying"
    )


def no_credentials(why: str) -> str:
    return (
        f"no Kubernetes credentials ({why}): run in a Pod with a ServiceAccount, or set "
        "KUBECONFIG to a kubeconfig file"
    )


def _reason(exc: BaseException) -> str:
    # urllib3 wraps the socket error several times over; the innermost one says it plainly.
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(getattr(exc, "strerror", None) or exc) or type(exc).__name__


def wait_for_cluster(
    settings: Settings,
    rest_factory: Callable[[], Rest] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> Rest | None:
    """The process's one client, once the API server answers and the operator's namespace
    exists; None (after one line saying why) when there are no credentials at all."""
    try:
        rest = rest_factory() if rest_factory is not None else connect()
    except Exception as exc:  # CredentialsError, an unreadable certificate or key
        log.error(no_credentials(_reason(exc)))
        return None
    host = str(getattr(rest, "server", "") or "?")
    wait = FIRST_WAIT
    while True:
        try:
            found = rest.read(NAMESPACE, "", settings.operator_namespace)
        except KubeError as exc:
            if exc.status in (401, 403):
                # Not ours to judge here: the handlers say what the missing permission stops.
                return rest
            problem = unreachable(host, str(exc))
        except Exception as exc:  # connection refused, TLS, DNS: urllib3's errors
            problem = unreachable(host, _reason(exc))
        else:
            if found is not None:
                return rest
            problem = missing_namespace(settings)
        log.error(problem)
        sleep(wait)
        wait = min(wait * 2, MAX_WAIT)

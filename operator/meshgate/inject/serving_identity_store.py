"""Agree, through one Secret, on the serving identity every replica uses.

The first replica to look creates the Secret with a create call; a replica whose create is
refused (409) reads the winner's. Whichever replica first finds the leaf due (or naming the
wrong Service) reissues it from the same CA, writing only if the Secret is still at the version
it read; a replica that loses that race reads the winner's leaf instead of writing its own. An
unreadable Secret is replaced by a new identity the same way.

Blocking (callers run it in a thread). The decisions are `serving_identity`'s; this module only
sequences reads and conditional writes. It must never log key bytes.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from meshgate.certs.errors import CertError

from . import kubeio
from .serving_identity import (
    Endpoint,
    WebhookIdentity,
    leaf_problem,
    new_identity,
    read_secret,
    renewed,
    secret_body,
)

# Each lost race means another replica wrote a good identity, so a second read settles it;
# more rounds only cover a Secret deleted or rewritten under our feet.
MAX_ROUNDS = 5

log = logging.getLogger(__name__)


class UnsettledIdentity(RuntimeError):
    pass


def settle(
    api: Any, *, namespace: str, name: str, endpoint: Endpoint, now: datetime
) -> WebhookIdentity:
    """The identity in Secret `namespace/name`, created or its leaf reissued if need be."""
    shared = endpoint.shared()
    where = f"{namespace}/{name}"
    for _ in range(MAX_ROUNDS):
        raw = kubeio.read_secret(api, namespace, name)
        if raw is None:
            fresh = new_identity(shared, now)
            if kubeio.create_secret(api, secret_body(fresh, name=name, namespace=namespace)):
                log.info(
                    "created webhook CA and serving certificate in Secret %s/%s", namespace, name
                )
                return fresh
            continue  # another replica created it first: use theirs
        try:
            current = read_secret(raw)
        except CertError as e:
            log.warning(
                "Secret %s/%s is unusable (%s); issuing a new webhook CA", namespace, name, e
            )
            replacement = new_identity(shared, now)
        else:
            problem = leaf_problem(current.serving, shared, now)
            if problem is None:
                return current
            log.info("reissuing the webhook serving certificate: %s", problem)
            replacement = renewed(current, shared, now)
        version = str(raw.get("metadata", {}).get("resourceVersion", ""))
        body = secret_body(replacement, name=name, namespace=namespace)
        if kubeio.replace_secret_data(api, body, version):
            return replacement
        # Written since we read it: the next round reads what the other replica wrote.
    raise UnsettledIdentity(f"Secret {where} kept changing; will retry")

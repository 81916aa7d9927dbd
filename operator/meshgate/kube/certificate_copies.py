"""Copy listener certificates that a ReferenceGrant lets a Gateway API Gateway use from another
namespace into the Gateway's namespace, where its proxy Pods can mount them.

A copy is written when it is missing or its source's resourceVersion moved (the copy carries
the version it was made from), so a rotated certificate reaches the gateway; copies no longer
wanted are deleted, and every copy is owned by its Gateway. The source's values are read only
to be written into the copy: never kept, logged or put in an error (errors carry the HTTP
status only, as `Rest` makes them).
"""

from __future__ import annotations

from typing import Any

from meshgate.gatewayapi.adapt import API_VERSION, CertificateCopy
from meshgate.render.objects import gateway_owner, labels

from .rest import SECRET, KubeError, Rest
from .store import Store

NAME_LABEL = "meshgate-gateway-certificate"
SOURCE_ANNOTATION = "meshgate.io/copied-from"
VERSION_ANNOTATION = "meshgate.io/copied-from-version"


def _version(body: dict[str, Any] | None) -> str:
    return str(((body or {}).get("metadata") or {}).get("resourceVersion") or "")


def _annotation(body: dict[str, Any] | None, key: str) -> str:
    return str((((body or {}).get("metadata") or {}).get("annotations") or {}).get(key) or "")


def sync_certificate_copies(
    rest: Rest, store: Store, copies: tuple[CertificateCopy, ...]
) -> list[str]:
    """Write the copies that are missing or stale, delete the ones no longer wanted; the errors."""
    errors: list[str] = []
    wanted = {(c.gateway.namespace, c.name) for c in copies}
    for c in copies:
        source_ns, source_name = c.source
        source = store.get("Secret", source_ns, source_name)
        if source is None:
            continue  # the listener reports the missing certificate
        copy = store.get("Secret", c.gateway.namespace, c.name)
        origin = f"{source_ns}/{source_name}"
        if (
            copy is not None
            and _annotation(copy, SOURCE_ANNOTATION) == origin
            and _annotation(copy, VERSION_ANNOTATION) == _version(source)
        ):
            continue
        try:
            full = rest.read(SECRET, source_ns, source_name)
            if full is None:
                continue
            data = full.get("data") or {}
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {
                    "name": c.name,
                    "namespace": c.gateway.namespace,
                    "labels": labels(
                        **{
                            "app.kubernetes.io/name": NAME_LABEL,
                            "app.kubernetes.io/instance": c.gateway.name,
                        }
                    ),
                    "annotations": {
                        SOURCE_ANNOTATION: origin,
                        VERSION_ANNOTATION: _version(full),
                    },
                    "ownerReferences": gateway_owner(c.gateway, API_VERSION),
                },
                "data": {k: data[k] for k in ("tls.crt", "tls.key") if k in data},
            }
            del full, data
            store.record("Secret", rest.apply(body))
        except KubeError as exc:
            errors.append(
                f"certificate copy {c.gateway.namespace}/{c.name} of {origin}: {exc.status}"
            )
    for secret in store.items("Secret"):
        meta = secret.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if (meta.get("labels") or {}).get("app.kubernetes.io/name") != NAME_LABEL:
            continue
        if key in wanted:
            continue
        try:
            rest.delete(SECRET, *key)
            store.forget("Secret", *key)
        except KubeError as exc:
            errors.append(f"delete certificate copy {key[0]}/{key[1]}: {exc.status}")
    return errors

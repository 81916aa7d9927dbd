"""PeerAuthentication: which mTLS mode workloads accept, in Istio's PeerAuthentication shape."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from .common import API_VERSION, ApiModel, LabelSelector, PolicyStatus, cel, validations
from .meta import ObjectMeta

MtlsMode = Literal["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]


class PeerMutualTLS(ApiModel):
    """The mTLS mode."""

    mode: MtlsMode = "UNSET"
    """`STRICT`: only mTLS from mesh peers; `PERMISSIVE`: mTLS and plain text; `DISABLE`: plain
    text; `UNSET`: inherit from the namespace-wide or mesh-wide policy."""


class PeerAuthenticationSpec(ApiModel):
    """Desired state of a PeerAuthentication."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.portLevelMtls) || has(self.selector)",
                "portLevelMtls needs a selector: per-port modes apply to selected workloads only",
                field_path=".portLevelMtls",
            ),
        )
    )

    selector: LabelSelector | None = None
    """Workloads this applies to; unset applies to the whole namespace, or the whole mesh when in
    the operator's namespace."""
    mtls: PeerMutualTLS | None = None
    """Mode for all ports."""
    port_level_mtls: (
        Annotated[
            dict[int, PeerMutualTLS],
            Field(
                max_length=16,
                json_schema_extra=validations(
                    cel(
                        "self.all(k, k.matches('^[0-9]{1,5}$') && int(k) >= 1 && int(k) <= 65535)",
                        "keys must be port numbers from 1 to 65535",
                    ),
                ),
            ),
        ]
        | None
    ) = None
    """Modes for single workload ports, keyed by port number.

    ```yaml
    portLevelMtls:
      8080:
        mode: PERMISSIVE
    ```
    """


class PeerAuthentication(ApiModel):
    """Which connections workloads accept: mTLS only, mTLS or plain text, or plain text. One
    without a selector in the operator's namespace is the mesh-wide default."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: PeerAuthentication
metadata:
  name: default
  namespace: shop
spec:
  mtls:
    mode: STRICT
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["PeerAuthentication"] = "PeerAuthentication"
    metadata: ObjectMeta
    spec: PeerAuthenticationSpec
    status: PolicyStatus | None = None

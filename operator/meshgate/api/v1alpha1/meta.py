"""Object metadata as the models see it: enough to read a manifest, never a schema for the CRD.

The API server owns `metadata`; the CRD schema leaves it to the server, so this model accepts every
field Kubernetes defines and checks only what meshgate itself reads.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ObjectMeta(BaseModel):
    """Kubernetes object metadata; fields meshgate does not read are kept as they are."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="allow"
    )

    name: str = Field(min_length=1, max_length=253)
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int | None = None
    uid: str | None = None
    resource_version: str | None = None

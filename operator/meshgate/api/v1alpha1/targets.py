"""References from edge policies to the Gateways and Routes they apply to."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .common import ApiModel, ObjectName, SectionName


class EdgeTargetReference(ApiModel):
    """A Gateway or Route in the policy's namespace.

    ```yaml
    targetRefs:
      - kind: Gateway
        name: edge
    ```
    """

    group: Literal["meshgate.io"] = "meshgate.io"
    """API group of the target."""
    kind: Literal["Gateway", "Route"]
    """Kind of the target."""
    name: ObjectName
    """Name of the target."""
    section_name: SectionName | None = None
    """A Gateway listener or a Route rule name, to narrow the target."""


EdgeTargetReferences = Annotated[list[EdgeTargetReference], Field(min_length=1, max_length=16)]

"""Pure builders of the Kubernetes objects meshgate generates. Dicts in, dicts out; no I/O."""

from .gateway import render_gateway, render_gateway_secrets
from .mesh import render_mesh
from .objects import MANAGED_BY, KubeObject

__all__ = ["MANAGED_BY", "KubeObject", "render_gateway", "render_gateway_secrets", "render_mesh"]

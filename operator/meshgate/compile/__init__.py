"""Pure compilation of a cluster snapshot into proxy config documents and object status.

Never does I/O, never imports kopf or the Kubernetes client: everything here is a function of
its arguments, so the same snapshot always gives byte-identical output.
"""

from .compiler import Compiler, CompileStats, compile_snapshot
from .ingest import snapshot_from_bodies
from .result import CompileResult, GatewayOutput, MeshOutput
from .snapshot import MeshSettings, Snapshot

__all__ = [
    "CompileResult",
    "CompileStats",
    "Compiler",
    "GatewayOutput",
    "MeshOutput",
    "MeshSettings",
    "Snapshot",
    "compile_snapshot",
    "snapshot_from_bodies",
]

"""The one way e2e kits turn Kubernetes YAML into the operator's snapshot: the golden-file
cases' `snapshot` (tests/unit/compile/golden_cases.py), which reads manifests as the operator's
I/O layer does (Gateway API objects adapted, edge Secrets reduced to digests), so a kit compiles
exactly what the golden tests and the operator compile."""

from __future__ import annotations

import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parents[1] / "unit"
for folder in (UNIT, UNIT / "compile"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from golden_cases import snapshot  # noqa: E402  needs the path above

__all__ = ["snapshot"]

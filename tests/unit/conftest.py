"""Unit tests: no control plane, no network. Helper modules shared by the subtrees
(`golden_files`) import as top-level modules from this directory."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

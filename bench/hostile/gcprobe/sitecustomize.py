"""Observation only: each cyclic-GC pass of a meshproxy process, one line per pass.

Put this directory on `PYTHONPATH` and set `MESHGATE_GC_LOG` to a directory: a meshproxy process
(any other Python process is left alone) writes `<pid>.tsv` there with, per pass, the wall time,
the generation, the pause in ms and the objects collected. A callback per pass, nothing per
request: what `bench/hostile/REPORT.md` counts as the collector's pauses.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any

_DIR = os.environ.get("MESHGATE_GC_LOG")

if _DIR and "--config" in sys.argv and "meshproxy" in sys.argv[0]:
    _out = open(os.path.join(_DIR, f"{os.getpid()}.tsv"), "w", buffering=1)  # noqa: SIM115
    _began = [0.0]

    def _pass(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _began[0] = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - _began[0]) * 1e3
        _out.write(
            f"{time.time():.3f}\t{info['generation']}\t{pause_ms:.3f}\t{info['collected']}\n"
        )

    gc.callbacks.append(_pass)

"""Where the pinned control-plane binaries are: `$MESHGATE_TESTBINS`, as `make` sets it.

This module only locates and checks binaries; building them is `hack/install-test-bins.sh`'s job
and must never happen from Python.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import MissingTestBinsError

ENV = "MESHGATE_TESTBINS"
REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager")


def check_bin_dir(bin_dir: Path) -> Path:
    """Return `bin_dir` resolved, or raise naming every binary that is missing."""
    missing = [b for b in REQUIRED if not os.access(bin_dir / b, os.X_OK)]
    if missing:
        raise MissingTestBinsError(
            f"{bin_dir} lacks {', '.join(missing)}; run `make testbins` "
            "(hack/install-test-bins.sh) to build the pinned control-plane binaries"
        )
    return bin_dir.resolve()


def bin_dir_from_env() -> Path:
    """The checked bin dir named by `$MESHGATE_TESTBINS`, or a clear error saying how to get it."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        raise MissingTestBinsError(
            f"${ENV} is not set: it names the directory holding etcd, kube-apiserver and "
            "kube-controller-manager. Use the make targets (`make up`, `make test`), which set it, "
            f"or `export {ENV}=$(bash hack/install-test-bins.sh | tail -n 1)`"
        )
    return check_bin_dir(Path(value))

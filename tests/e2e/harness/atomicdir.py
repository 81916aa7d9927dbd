"""Kubelet's atomic writer: a volume directory whose files all change in one rename.

Layout, as kubelet makes it (and as programs that watch mounted ConfigMaps expect):

    <dir>/..2025_01_01_00_00_00.123/   the payload of one version
    <dir>/..data -> ..2025_...         swapped with a single rename(2)
    <dir>/<key> -> ..data/<key>        stable names for readers

This module must never delete anything in `<dir>` but its own `..` version dirs and the key
symlinks it made (a nested volume may be mounted inside the same directory).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

DATA = "..data"


def _current(target: Path) -> dict[str, bytes] | None:
    data = target / DATA
    if not data.is_symlink():
        return None
    root = target / os.readlink(data)
    found: dict[str, bytes] = {}
    for path in root.rglob("*"):
        if path.is_file():
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def write(target: Path, files: dict[str, bytes], mode: int = 0o644) -> bool:
    """Make `target` hold exactly `files` (relative paths); True when anything changed."""
    target.mkdir(parents=True, exist_ok=True)
    if _current(target) == files:
        return False
    version = target / time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    version = version.with_name(version.name + f"{time.monotonic_ns() % 10**9:09d}")
    version.mkdir()
    for rel, content in files.items():
        path = version / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    old = os.readlink(target / DATA) if (target / DATA).is_symlink() else None
    tmp = target / "..data_tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(version.name)
    os.replace(tmp, target / DATA)
    tops = {rel.split("/", 1)[0] for rel in files}
    for top in tops:
        link = target / top
        if not link.is_symlink():
            link.symlink_to(f"{DATA}/{top}")
    if old is not None:
        old_tops = {p.name for p in (target / old).iterdir()}
        for top in old_tops - tops:
            if (target / top).is_symlink():
                (target / top).unlink()
        shutil.rmtree(target / old, ignore_errors=True)
    return True

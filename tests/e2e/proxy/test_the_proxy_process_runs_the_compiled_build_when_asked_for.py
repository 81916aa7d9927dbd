"""`make test` runs part of this tree a second time with meshproxy's mypyc build on PYTHONPATH and
MESHPROXY_EXPECT_COMPILED=1. A real meshproxy process then has the build's native library mapped
(mypyc puts the code of every compiled module in one `<hash>__mypyc` extension beside the
package; each module's own `.so` is a shim that may never be loaded), so that pass exercises the
build, never the source beside it. In the ordinary pass nothing compiled is mapped: the source
runs. (Which modules come from the build is checked in-process by
tests/unit/proxy/test_compiled_build_is_what_runs_when_asked_for.py.)"""

from __future__ import annotations

import os
from pathlib import Path

from meshproxy_e2e import Proxy, config, free_port

EXPECT = os.environ.get("MESHPROXY_EXPECT_COMPILED") == "1"
BUILD = os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] if EXPECT else ""


def mapped_compiled_code(pid: int) -> set[str]:
    """Files of mypyc's code the process has mapped: the group library and module shims."""
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        path = line.split(maxsplit=5)[-1]
        if path.endswith(".so") and ("__mypyc." in path or "/meshproxy/" in path):
            found.add(path)
    return found


def test_the_running_proxy_maps_the_compiled_build_only_when_asked_for(tmp_path: Path) -> None:
    proxy = Proxy(tmp_path, config(free_port(), [], []))
    try:
        mapped = mapped_compiled_code(proxy.process.pid)
    finally:
        proxy.stop()
    if EXPECT:
        groups = [p for p in mapped if "__mypyc." in p]
        assert len(groups) == 1, mapped
        assert Path(groups[0]).parent == Path(BUILD).resolve()
    else:
        assert mapped == set()

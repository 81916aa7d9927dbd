"""Only a config stored in parts is gunzipped: a proxy whose config is one file never imports
gzip (about 55 KiB of RSS on top of what the proxy loads anyway; zlib comes with ctypes.util),
in every sidecar and gateway that would load it for nothing. Checked in a fresh interpreter,
as the proxy process starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from meshproxy.configparts import split

PROBE = """
import sys
import meshproxy.__main__
import meshproxy.runtime
from meshproxy.configparts import read_config

read_config(sys.argv[1])
print("gzip" in sys.modules)
"""


def _loaded_after_reading(path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def test_a_one_file_config_is_read_without_gzip(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"version": "v1"}))
    assert _loaded_after_reading(tmp_path / "config.json") == "False"


def test_a_config_in_parts_loads_gzip_to_read_them(tmp_path: Path) -> None:
    text = json.dumps({"version": "v1", "routes": [f"route-{i}" for i in range(60_000)]})
    parts = split(text, "v1")
    assert parts is not None
    (tmp_path / "config.json").write_text(parts.index_json)
    for name, chunk in parts.parts:
        (tmp_path / name).write_bytes(chunk)
    assert _loaded_after_reading(tmp_path / "config.json") == "True"

"""A proxy config too large for one ConfigMap: gzip'ed, cut into parts, named by one small index.

The API server refuses objects over 1 MiB, and a gateway with thousands of routes compiles to
several MiB of JSON. The operator then writes the config gzip'ed and cut into parts of at most
`PART_BYTES`, each part in its own ConfigMap (`binaryData`), and in the gateway's usual ConfigMap,
under the usual key, a small JSON index:

    {"schema": "meshgate.io/config-index/v1", "version": "<config version>",
     "encoding": "gzip", "sha256": "<of the gzip stream>", "parts": ["part-0-<version>.gz", ...]}

Every part's file name carries the version, so an index can only ever name parts of its own
version: a proxy that sees a new index before its parts (or old parts under a new index) finds a
part missing and keeps its last good config instead of reading a mix of two versions. The index
and its parts are mounted in one projected volume, which the kubelet swaps atomically.

The operator (`split`) and the proxy (`read_config`) share this module, so the format has one
definition. Pure except for `read_config`, which reads the files it is pointed at.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass

from meshproxy.digest import sha256_hex

INDEX_SCHEMA = "meshgate.io/config-index/v1"
# A config up to this size stays one plain JSON value: readable with kubectl, well under the limit.
INLINE_BYTES = 512 * 1024
# binaryData is stored base64 (4/3 larger): 600 KiB of gzip is ~800 KiB in the object.
PART_BYTES = 600 * 1024
# The gateway Deployment mounts this many part ConfigMaps (optional): a fixed set, so a config
# that grows or shrinks never changes the pod template (which would roll the proxies).
MAX_PARTS = 8

_INDEX_PREFIX = b'{"schema":"' + INDEX_SCHEMA.encode()


class ConfigPartsError(ValueError):
    """The index or its parts cannot be assembled; the message says what is wrong."""


@dataclass(frozen=True)
class SplitConfig:
    """What the operator persists: the index JSON and (file name, gzip bytes) per part."""

    index_json: str
    parts: tuple[tuple[str, bytes], ...]


def part_file(number: int, version: str) -> str:
    return f"part-{number}-{version}.gz"


def split(
    config_json: str, version: str, packed_by: Callable[[], bytes] | None = None
) -> SplitConfig | None:
    """The parts of a config too large to inline, or None when it fits as it is.

    `packed_by`, when given, returns the config gzip'ed by the caller, perhaps as several gzip
    members (the operator keeps each virtual host's compressed): `assemble` decompresses every
    member. It must be deterministic, like the default: the same config, the same bytes."""
    raw = config_json.encode()
    if len(raw) <= INLINE_BYTES:
        return None
    import gzip  # here, not at the top: a proxy whose config is one file never loads it

    # mtime=0: the same config always gives the same bytes, so an unchanged config is no write.
    packed = packed_by() if packed_by else gzip.compress(raw, compresslevel=6, mtime=0)
    chunks = [packed[i : i + PART_BYTES] for i in range(0, len(packed), PART_BYTES)]
    if len(chunks) > MAX_PARTS:
        raise ConfigPartsError(
            f"the config is {len(raw)} bytes, {len(packed)} gzip'ed: more than {MAX_PARTS} parts "
            f"of {PART_BYTES} bytes; split the routes over several Gateways"
        )
    parts = tuple((part_file(n, version), chunk) for n, chunk in enumerate(chunks))
    index = {
        "schema": INDEX_SCHEMA,
        "version": version,
        "encoding": "gzip",
        "sha256": sha256_hex(packed),
        "parts": [name for name, _ in parts],
    }
    # Key order fixed with the schema first: `assemble` recognises an index by its first bytes.
    return SplitConfig(json.dumps(index, separators=(",", ":")), parts)


def is_index(raw: bytes) -> bool:
    return raw.startswith(_INDEX_PREFIX)


def assemble(index_raw: bytes, read_part: Callable[[str], bytes]) -> bytes:
    """The full config JSON an index names, or ConfigPartsError (a part missing or corrupt)."""
    try:
        index = json.loads(index_raw)
        names = [str(name) for name in index["parts"]]
        digest, version = str(index["sha256"]), str(index["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigPartsError(f"config index is not valid: {exc}") from None
    if index.get("encoding") != "gzip":
        raise ConfigPartsError(f"config index: unknown encoding {index.get('encoding')!r}")
    chunks = []
    for name in names:
        if os.sep in name or not name.endswith(f"-{version}.gz"):
            raise ConfigPartsError(f"config index: part {name!r} is not of version {version}")
        try:
            chunks.append(read_part(name))
        except OSError as exc:
            raise ConfigPartsError(
                f"config part {name} of version {version} cannot be read ({exc.strerror}): "
                "the parts of this version are not all mounted yet"
            ) from None
    packed = b"".join(chunks)
    if sha256_hex(packed) != digest:
        raise ConfigPartsError(f"config parts of version {version} do not match the index")
    import gzip  # here, not at the top: a proxy whose config is one file never loads it

    try:
        return gzip.decompress(packed)
    except (OSError, EOFError) as exc:
        raise ConfigPartsError(f"config parts of version {version}: {exc}") from None


def read_config(path: str) -> bytes:
    """The config JSON at `path`, assembled from its parts (beside it) when `path` is an index."""
    raw = _read(path)
    if not is_index(raw):
        return raw
    directory = os.path.dirname(path)
    try:
        return assemble(raw, lambda name: _read(os.path.join(directory, name)))
    except ConfigPartsError as exc:
        if any(_is_part_file(name) for name in os.listdir(directory or ".")):
            raise
        # Not one part of any version: a volume of the index alone, which no wait will fill.
        raise ConfigPartsError(
            f"{exc}; no config part is mounted beside the index at all (a sidecar injected "
            "before its namespace's config was stored in parts mounts the index alone: "
            "re-create its Pod)"
        ) from None


def _is_part_file(name: str) -> bool:
    return name.startswith("part-") and name.endswith(".gz")


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()

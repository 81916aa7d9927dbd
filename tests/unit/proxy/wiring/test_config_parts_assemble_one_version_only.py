"""A config too large for one ConfigMap: split into gzip parts, assembled only from one version."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from meshproxy.configparts import (
    INLINE_BYTES,
    MAX_PARTS,
    PART_BYTES,
    ConfigPartsError,
    read_config,
    split,
)


def big_config(routes: int, seed: int = 0) -> str:
    """Realistic-looking JSON of many routes; random ids so gzip cannot shrink it to nothing."""
    rng = random.Random(seed)
    items = [
        {"name": f"r{i}-{rng.getrandbits(64):x}", "match": {"path": {"value": f"/svc{i}"}}}
        for i in range(routes)
    ]
    return json.dumps({"routes": items})


def mount(directory: Path, index: str, parts: tuple[tuple[str, bytes], ...]) -> Path:
    """The projected volume as the kubelet fills it: the index and every part's file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(index)
    for name, chunk in parts:
        (directory / name).write_bytes(chunk)
    return directory / "config.json"


def test_a_small_config_stays_inline_and_is_read_as_it_is(tmp_path: Path) -> None:
    text = big_config(10)
    assert split(text, "v1") is None
    (tmp_path / "config.json").write_text(text)
    assert read_config(str(tmp_path / "config.json")) == text.encode()


def test_a_large_config_is_split_into_parts_under_the_limit_and_read_back_whole(
    tmp_path: Path,
) -> None:
    text = big_config(60_000)
    assert len(text) > 3 * INLINE_BYTES
    parts = split(text, "abc123")
    assert parts is not None
    assert len(parts.parts) >= 2
    assert all(len(chunk) <= PART_BYTES for _, chunk in parts.parts)
    assert len(parts.index_json) < 1024
    assert [name for name, _ in parts.parts] == [
        f"part-{n}-abc123.gz" for n in range(len(parts.parts))
    ]
    assert read_config(str(mount(tmp_path, parts.index_json, parts.parts))) == text.encode()


def test_the_same_config_always_splits_to_the_same_bytes() -> None:
    text = big_config(20_000)
    assert split(text, "v") == split(text, "v")


def test_an_index_whose_parts_are_of_another_version_is_refused(tmp_path: Path) -> None:
    old = split(big_config(20_000, seed=1), "old")
    new = split(big_config(20_000, seed=2), "new")
    assert old is not None
    assert new is not None
    # The kubelet has the new index but still the old parts: nothing of `new` is there.
    path = mount(tmp_path, new.index_json, old.parts)
    with pytest.raises(ConfigPartsError, match=r"part-0-new\.gz of version new cannot be read"):
        read_config(str(path))


def test_a_corrupt_part_is_refused_not_parsed(tmp_path: Path) -> None:
    parts = split(big_config(20_000), "v")
    assert parts is not None
    (name, chunk), *rest = parts.parts
    path = mount(tmp_path, parts.index_json, ((name, chunk[:-1] + b"x"), *rest))
    with pytest.raises(ConfigPartsError, match="do not match the index"):
        read_config(str(path))


def test_an_index_naming_a_file_outside_its_directory_is_refused(tmp_path: Path) -> None:
    parts = split(big_config(20_000), "v")
    assert parts is not None
    index = json.loads(parts.index_json)
    index["parts"] = ["../../etc/part-0-v.gz"]
    path = mount(tmp_path, json.dumps(index, separators=(",", ":")), parts.parts)
    with pytest.raises(ConfigPartsError, match="is not of version"):
        read_config(str(path))


def test_a_config_needing_more_parts_than_are_mounted_says_what_to_do() -> None:
    noise = random.Random(3).randbytes(PART_BYTES * MAX_PARTS).hex()
    with pytest.raises(ConfigPartsError, match="split the routes over several Gateways"):
        split(json.dumps({"noise": noise}), "v")


def test_an_index_mounted_without_any_part_says_the_volume_holds_the_index_alone(
    tmp_path: Path,
) -> None:
    parts = split(big_config(20_000), "v")
    assert parts is not None
    # A Pod whose volume is the index's ConfigMap alone (injected before parts existed).
    path = mount(tmp_path, parts.index_json, ())
    with pytest.raises(ConfigPartsError, match="mounts the index alone: re-create its Pod"):
        read_config(str(path))

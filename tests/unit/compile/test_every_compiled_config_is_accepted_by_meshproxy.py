"""Every config the compiler writes loads with meshproxy's own parser: the contract holds."""

from __future__ import annotations

import pytest
from golden_cases import case_names, documents, snapshot

from meshgate.compile import compile_snapshot
from meshproxy.config import parse_config


@pytest.mark.parametrize("name", case_names())
def test_configs_parse_in_the_proxy(name: str) -> None:
    result = compile_snapshot(snapshot(documents(name)))
    for text in [g.config_json for g in result.gateways] + [m.config_json for m in result.meshes]:
        config = parse_config(text)
        assert config.version

"""A gateway config's names used and not defined are refused as `ProxyConfig` refuses them, and a
virtual host found clean before (the very same object, against the same defined names) is not
walked again."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from test_a_change_recompiles_only_the_configs_that_depend_on_it import ROUTES, SERVICES, build

from meshgate.compile import compile_snapshot
from meshgate.compile import gateways as compiled_gateways
from meshgate.compile.gateways import _give_listeners
from meshproxy import config as pc
from meshproxy.config import proxy


def _fresh(like: pc.ProxyConfig, **changes: Any) -> pc.ProxyConfig:
    return msgspec.structs.replace(like, listeners=[], **changes)


def test_clean_virtual_hosts_are_not_walked_again_and_a_missing_name_is_refused() -> None:
    config = compile_snapshot(build(ROUTES, SERVICES)).gateways[0].config
    listeners = config.listeners
    assert listeners[0].virtual_hosts
    kept: dict[Any, Any] = {}
    _give_listeners(_fresh(config), listeners, {}, kept)
    assert kept  # each virtual host checked once

    walked: list[int] = []

    def counting(cfg: pc.ProxyConfig) -> list[str]:
        walked.append(sum(len(ln.virtual_hosts) for ln in cfg.listeners))
        return proxy.reference_problems(cfg)

    again: dict[Any, Any] = {}
    monkey = pytest.MonkeyPatch()
    monkey.setattr(compiled_gateways, "reference_problems", counting)
    try:
        fresh = _fresh(config)
        _give_listeners(fresh, listeners, kept, again)
    finally:
        monkey.undo()
    assert walked == [0]
    assert again == kept
    assert fresh.listeners is listeners

    with pytest.raises(ValueError, match="is not defined") as want:
        pc.ProxyConfig(node=config.node, listeners=listeners)  # no cluster defined
    with pytest.raises(ValueError, match="is not defined") as got:
        _give_listeners(_fresh(config, clusters=[]), listeners, kept, {})
    assert str(got.value) == str(want.value)

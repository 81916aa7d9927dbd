"""The same cluster, listed in any order, compiles to byte-identical configs and status."""

from __future__ import annotations

import random

import pytest
from golden_cases import case_names, documents, snapshot

from meshgate.compile import compile_snapshot


@pytest.mark.parametrize("name", [n for n in case_names() if not n.startswith("example-")][:12])
def test_shuffled_input_gives_identical_output(name: str) -> None:
    docs = documents(name)
    first = compile_snapshot(snapshot(docs))
    shuffled = list(docs)
    random.Random(7).shuffle(shuffled)
    second = compile_snapshot(snapshot(shuffled))
    assert [g.config_json for g in first.gateways] == [g.config_json for g in second.gateways]
    assert [m.config_json for m in first.meshes] == [m.config_json for m in second.meshes]
    assert first.statuses == second.statuses

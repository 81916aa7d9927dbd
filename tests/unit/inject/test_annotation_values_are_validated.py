"""Resource and port annotations: valid values pass through, bad ones become None."""

from __future__ import annotations

import pytest

from meshgate.inject import quantities


@pytest.mark.parametrize(("raw", "want"), [("100m", "100m"), ("0.5", "0.5"), ("2", "2")])
def test_valid_cpu(raw: str, want: str) -> None:
    assert quantities.cpu(raw) == want


@pytest.mark.parametrize("raw", ["lots", "", "-1", "0", "0m", "1Gi", "1.2345"])
def test_invalid_cpu(raw: str) -> None:
    assert quantities.cpu(raw) is None


@pytest.mark.parametrize("raw", ["128Mi", "1Gi", "1G", "500000"])
def test_valid_memory(raw: str) -> None:
    assert quantities.memory(raw) == raw


@pytest.mark.parametrize("raw", ["100m", "lots", "", "0Mi", "-1Mi", "1mi"])
def test_invalid_memory(raw: str) -> None:
    assert quantities.memory(raw) is None


def test_ports() -> None:
    assert quantities.ports("80, 8080") == (80, 8080)
    assert quantities.ports("80,http") is None
    assert quantities.ports("0") is None
    assert quantities.ports("70000") is None

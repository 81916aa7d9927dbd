"""The Gateway API conformance suite's images run on the local node: echo-basic as the real
program built from the suite's own Go module, in a network namespace of its Pod's own (it binds
`:3000` on every address); coredns as an idle stand-in (only UDPRoute tests query it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.commands import IDLE_APP, Images, UnknownImage, needs_own_network, program

ECHO_BASIC = "gcr.io/k8s-staging-gateway-api/echo-basic:v20260204-monthly-2026.01-60-g28382302"


def test_echo_basic_image_runs_the_built_program_with_its_arguments() -> None:
    images = Images(echo_basic=Path("/opt/echo-basic"))
    container = {"name": "b", "image": ECHO_BASIC, "args": ["-x"]}

    assert program(container, images) == ["/opt/echo-basic", "-x"]


def test_echo_basic_image_without_the_program_says_how_to_build_it() -> None:
    with pytest.raises(UnknownImage, match="make conformance-bins"):
        program({"name": "b", "image": ECHO_BASIC}, Images())


def test_coredns_image_runs_the_idle_stand_in_without_its_flags() -> None:
    container = {
        "name": "coredns",
        "image": "registry.k8s.io/coredns/coredns:v1.12.2",
        "args": ["-conf", "/root/Corefile"],
    }

    argv = program(container, Images())

    assert argv[1:] == [str(IDLE_APP)]


def test_only_pods_running_echo_basic_get_their_own_network_namespace() -> None:
    echo = {"containers": [{"name": "b", "image": ECHO_BASIC}]}
    proxy = {"containers": [{"name": "p", "image": "meshproxy:dev"}]}

    assert needs_own_network(echo, Images())
    assert not needs_own_network(proxy, Images())

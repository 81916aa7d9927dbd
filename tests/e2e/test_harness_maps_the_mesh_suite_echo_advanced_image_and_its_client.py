"""The mesh profile's echo-advanced image runs meshgate's emulation of it, sharing the node's
network (it binds the Pod's address), and an `exec` of the image's `client` runs the emulation's
client; the Node tells the API server where its kubelet API listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.commands import Images, UnknownImage, image_commands, needs_own_network, program
from harness.node import node_status

ECHO_ADVANCED = "gcr.io/k8s-staging-gateway-api/echo-advanced:v20240412-v1.0.0-394-g40c666fd"
CONTAINER = {"name": "echo", "image": ECHO_ADVANCED, "args": ["--port=8080", "--tls=8443"]}


def test_echo_advanced_image_runs_the_emulation_with_its_arguments_on_the_shared_network() -> None:
    images = Images(echo_advanced=Path("/opt/echo-advanced"))

    assert program(CONTAINER, images) == ["/opt/echo-advanced", "--port=8080", "--tls=8443"]
    assert not needs_own_network({"containers": [CONTAINER]}, images)


def test_echo_advanced_image_without_the_emulation_says_how_to_build_it() -> None:
    with pytest.raises(UnknownImage, match="make conformance-bins"):
        program(CONTAINER, Images())


def test_exec_of_client_runs_the_emulations_client_and_other_images_map_nothing() -> None:
    images = Images(echo_advanced=Path("/opt/echo-advanced"))

    commands = image_commands(CONTAINER, images)

    assert commands["client"] == ["/opt/echo-advanced", "client"]
    assert commands["/usr/local/bin/client"] == ["/opt/echo-advanced", "client"]
    assert image_commands({"name": "p", "image": "meshproxy:dev"}, images) == {}


def test_node_publishes_its_kubelet_port_only_when_it_serves_one() -> None:
    served = node_status("198.18.7.1", "2026-01-01T00:00:00Z", 10250)["status"]
    unserved = node_status("198.18.7.1", "2026-01-01T00:00:00Z")["status"]

    assert served["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert "daemonEndpoints" not in unserved

"""The quickstart's `hashicorp/http-echo` image runs as the echo app with its own flags, so
`make demo` can run `examples/quickstart/` unchanged on the local node."""

from __future__ import annotations

from harness.commands import ECHO_APP, Images, program


def test_http_echo_image_maps_to_the_echo_app_keeping_its_flags() -> None:
    container = {
        "name": "echo",
        "image": "docker.io/hashicorp/http-echo:1.0",
        "args": ["-listen=:8080", "-text=hello from echo"],
    }

    argv = program(container, Images())

    assert argv[1:] == [str(ECHO_APP), "-listen=:8080", "-text=hello from echo"]

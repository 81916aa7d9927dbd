"""A checkout under a path a container mounts (a clone in /tmp, the operator's /tmp emptyDir)
still starts the host's program: only the container's own arguments are moved into the Pod."""

from __future__ import annotations

from pathlib import Path

from harness.commands import Images, launch_argv


def test_program_under_a_mounted_path_stays_a_host_path_while_args_move() -> None:
    images = Images(venv_bin=Path("/tmp/clone/.venv/bin"))
    container = {
        "name": "operator",
        "image": "meshgate.local/operator:dev",
        "command": ["meshgate"],
        "args": ["operator", "--state=/tmp/state"],
    }
    mounts = {"/tmp": Path("/pods/p1/root/tmp")}

    argv = launch_argv(container, images, {}, mounts)

    assert argv == [
        "/tmp/clone/.venv/bin/meshgate",
        "operator",
        "--state=/pods/p1/root/tmp/state",
    ]

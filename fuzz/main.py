"""Fuzz one target: `python -m fuzz.main <target> [libFuzzer flags] [corpus dirs]`.

The target's module is imported inside `atheris.instrument_imports`, limited to the packages the
target names, so coverage feedback comes from meshproxy's own code (and PyJWT's for the token
targets), not from the standard library. Everything after the target name goes to libFuzzer
as it is (`-max_total_time=60`, `-runs=1000`, corpus directories, a crash file to replay).
"""

from __future__ import annotations

import importlib
import sys

import atheris

from fuzz.targets import TARGETS


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m fuzz.main {{{','.join(TARGETS)}}} [libFuzzer flags]")
    target = TARGETS[argv[1]]
    with atheris.instrument_imports(include=list(target.instrument)):
        module = importlib.import_module(target.module)
    atheris.Setup([argv[0], f"-max_len={target.max_len}", *argv[2:]], module.one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)

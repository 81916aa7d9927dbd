"""Build meshproxy with its hot modules compiled by mypyc; print the directory to put on PYTHONPATH.

What meshproxy runs as: mypyc compiles the request path's strictly typed source to C extensions
(as black and mypy ship themselves), and the same source stays the pure-Python fallback (a
module whose extension is absent is imported from its `.py`). It pays: bench/proxy/REPORT.md
measures the build (b) against the same source in pure Python (p) in one run, and
docs/architecture.md records the decision. mypyc ships inside mypy, pinned in constraints.txt,
so a build is reproducible from the checkout; it needs a C compiler.

The local build is a copy of `proxy-image/meshproxy` under `<into>/<digest>/` with the modules
in `COMPILED` beside their `.so`, never an extension next to the source (`make proxy-compiled`;
`make test` and `make demo` use it through PYTHONPATH). The digest covers every source file,
this script and the mypy version, so a stale build is never used; older builds are removed.
`--in-place DIR` compiles the package installed under DIR where it is (the proxy image does this
in its site-packages). `MESHPROXY_EXPECT_COMPILED=1` with the build on PYTHONPATH makes
tests/unit/proxy/test_compiled_build_is_what_runs_when_asked_for.py check that every listed
module came from its extension. A listed module must keep to what mypyc compiles: no
`runtime_checkable` protocols, no monkeypatching of its classes from outside.

    make proxy-compiled   # or: .venv/bin/python proxy-image/build_compiled.py --into DIR
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "meshproxy"

# Per-request modules, by package path: the HTTP/1 codec and objects, both connection
# protocols, the layers a forwarded request always runs, route match and balancing, the
# listener stack's accounting, and the access line and metrics.
COMPILED = (
    "http/body.py",
    "http/flow.py",
    "http/heads.py",
    "http/message.py",
    "http1/request.py",
    "http1/response.py",
    "http1/sink.py",
    "layers/chain.py",
    "layers/inbound.py",
    "layers/route.py",
    "layers/tracing.py",
    "layers/upstream.py",
    "observability/accessline.py",
    "observability/metrics.py",
    "policy/balancer.py",
    "policy/paths.py",
    "policy/routing.py",
    "policy/tracing.py",
    "server/protocol.py",
    "stack.py",
    "upstream/connection.py",
)
DONE = ".complete"  # written last: a directory without it is an interrupted build


def digest() -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(metadata.version("mypy").encode())
    h.update(sys.version.encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def compile_in(root: Path) -> None:
    """Compile the `COMPILED` modules of `root/meshproxy` in place: each module's extension
    beside its source, mypyc's shared library in `root`; its C sources are removed."""
    modules = [f"meshproxy/{m}" for m in COMPILED]
    result = subprocess.run(
        [sys.executable, "-m", "mypyc", "--strict", *modules],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-6000:] + result.stderr[-6000:])
        raise SystemExit(f"build_compiled: mypyc failed (exit {result.returncode})")
    shutil.rmtree(root / "build")


def build(into: Path) -> Path:
    """The build for the current source under `into`, built now if it is not there yet."""
    target = into / digest()
    if (target / DONE).exists():
        return target
    into.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=into))
    try:
        shutil.copytree(PACKAGE, work / "meshproxy", ignore=shutil.ignore_patterns("__pycache__"))
        compile_in(work)
        # Bytecode for the modules left in Python, as `pip install` writes it for the image:
        # without it (PYTHONDONTWRITEBYTECODE, a read-only tree) every start compiles them again,
        # which costs start-up time and leaves ~0.5 MiB of the compiler's garbage resident.
        if not compileall.compile_dir(work / "meshproxy", quiet=1):
            raise SystemExit("build_compiled: byte-compiling the Python modules failed")
        (work / DONE).write_text("\n".join(COMPILED) + "\n")
        for old in into.iterdir():
            if old != work and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--into", type=Path, help="where local builds are kept")
    where.add_argument(
        "--in-place", type=Path, help="a directory holding an installed meshproxy package"
    )
    args = parser.parse_args()
    if args.in_place is not None:
        compile_in(args.in_place.resolve())
        print(args.in_place.resolve())
    else:
        print(build(args.into.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

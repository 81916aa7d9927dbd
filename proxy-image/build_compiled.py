"""Build meshproxy with its hot modules compiled by mypyc; print the directory to put on PYTHONPATH.

The request path is plain, strictly typed Python; mypyc compiles the same source to C
extensions (as black and mypy ship themselves), which halves the interpreter's share of a
request's CPU (bench/proxy/REPORT.md). The .py files stay the fallback and the source of truth:
the build is a copy of `proxy-image/meshproxy` under `.local/meshproxy-compiled/<digest>/`, with
the modules in `COMPILED` beside their `.so`. The digest covers every source file, this script
and the mypy version, so a stale build is never used: an edit makes a new digest, and the next
`make` builds it again (about 40 s of CPU). Older builds are removed.

Only modules that run per request and that nothing patches at run time belong in `COMPILED`.
A module compiled here must keep to what mypyc compiles: no `runtime_checkable` protocols,
no monkeypatching of its classes from outside.

    .venv/bin/python proxy-image/build_compiled.py --into .local/meshproxy-compiled
"""

from __future__ import annotations

import argparse
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
# protocols, the layers a forwarded request always runs, and the access line and metrics.
COMPILED = (
    "http/body.py",
    "http/flow.py",
    "http/heads.py",
    "http/message.py",
    "http1/request.py",
    "http1/response.py",
    "http1/sink.py",
    "layers/chain.py",
    "layers/route.py",
    "layers/tracing.py",
    "layers/upstream.py",
    "observability/accessline.py",
    "observability/metrics.py",
    "policy/tracing.py",
    "server/protocol.py",
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


def build(into: Path) -> Path:
    """The build for the current source under `into`, built now if it is not there yet."""
    target = into / digest()
    if (target / DONE).exists():
        return target
    into.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=into))
    try:
        shutil.copytree(PACKAGE, work / "meshproxy", ignore=shutil.ignore_patterns("__pycache__"))
        modules = [f"meshproxy/{m}" for m in COMPILED]
        result = subprocess.run(
            [sys.executable, "-m", "mypyc", "--strict", *modules],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-6000:] + result.stderr[-6000:])
            raise SystemExit(f"build_compiled: mypyc failed (exit {result.returncode})")
        shutil.rmtree(work / "build")
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
    parser.add_argument("--into", type=Path, required=True, help="where builds are kept")
    args = parser.parse_args()
    print(build(args.into.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# `make bench`: runs every benchmark under bench/ (each bench/<name>/run.py) and keeps what each
# prints in bench/out/<name>.txt. bench/proxy/run.py and bench/mtls/run.py also rewrite their
# REPORT.md.
# Installs what the benchmarks start and is missing: the Debian peers (hack/install-system-
# packages.sh), strace, and the `bench` extra (Envoy, py-spy) into .venv. About 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

bash hack/install-system-packages.sh
if ! command -v strace >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends strace >/dev/null
  else
    echo "bench: strace is missing; install it (apt-get install strace)" >&2
    exit 1
  fi
fi
# The `bench` extra's requirements, read from pyproject.toml so the list lives in one place.
mapfile -t extra < <("$PY" -c '
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bench"]))
')
missing=()
for req in "${extra[@]}"; do
  "$PY" -m pip show -q "$req" >/dev/null 2>&1 || missing+=("$req")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> [bench] installing ${missing[*]} into .venv (the bench extra)"
  "$PY" -m pip install -q -c constraints.txt "${missing[@]}"
fi

mkdir -p bench/out
failed=()
for script in bench/*/run.py; do
  name="$(basename "$(dirname "$script")")"
  echo "==> [bench] $script (output: bench/out/$name.txt)"
  "$PY" "$script" 2>&1 | tee "bench/out/$name.txt" || failed+=("$script")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "==> [bench] FAILED: ${failed[*]}" >&2
  exit 1
fi

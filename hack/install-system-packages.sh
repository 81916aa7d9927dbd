#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks start as real peers: redis-server (global
# rate limits), nginx, HAProxy and wrk (bench/), iproute2 and util-linux (hack/in-netns.sh; chrt
# and taskset for the hostile tests), nftables (the e2e node agent forwards Service addresses to
# Pods with it), Chromium (the API catalog page is opened headless by a test), h2load (HTTP/2
# load, nghttp2-client) and slowhttptest (slow-client attacks against the edge), and a C compiler
# (gcc: mypyc builds meshproxy's compiled modules).
# Installs only what is missing; safe to rerun.
set -euo pipefail
declare -A need=(
  [redis-server]=redis-server [nginx]=nginx-light [haproxy]=haproxy [wrk]=wrk
  [ip]=iproute2 [unshare]=util-linux [nsenter]=util-linux [nft]=nftables [chromium]=chromium
  [h2load]=nghttp2-client [slowhttptest]=slowhttptest [cc]=gcc
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null || [ -x "/usr/sbin/$cmd" ] || missing+=("${need[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "==> [system-packages] installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-packages: run as root, or install: apt-get install ${missing[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "install-system-packages: needs apt-get (Debian); install ${missing[*]} by hand" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# Another apt (a second checkout's `make`, the machine's own updates) may hold dpkg's lock: wait
# for it rather than fail.
lock=(-o DPkg::Lock::Timeout=600)
apt-get "${lock[@]}" update -q >/dev/null
apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}" >/dev/null

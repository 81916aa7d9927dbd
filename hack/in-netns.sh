#!/usr/bin/env bash
# Runs a command in a fresh, private network namespace with only loopback up.
#
# The test suites run here so that nothing they start can reach or be reached from any real
# network, and so that the e2e node agent can give each Pod its own local address: the API
# server refuses loopback addresses in EndpointSlices, so Pods get addresses from 198.18.0.0/15
# (the range reserved for benchmarking), routed to `lo` inside this namespace only.
# Root enters a plain network namespace; anyone else gets a user namespace mapping them to root.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: hack/in-netns.sh COMMAND [ARGS...]" >&2; exit 2; }
command -v unshare >/dev/null || { echo "in-netns: unshare (util-linux) is required" >&2; exit 1; }
command -v ip >/dev/null || { echo "in-netns: ip (iproute2) is required" >&2; exit 1; }
flags=(--net)
[ "$(id -u)" -eq 0 ] || flags+=(--map-root-user)
exec unshare "${flags[@]}" -- bash -c 'ip link set lo up && exec "$@"' in-netns "$@"

#!/usr/bin/env bash
# make e2e-kind: the e2e scenarios on a kind cluster, for machines with a Docker engine.
# Creates (or reuses) kind cluster $MESHGATE_KIND_CLUSTER, builds the operator and proxy images
# and the echo app's (meshgate.local/echo:latest, what the scenarios and the quickstart run),
# loads them into the nodes, helm-installs the chart and runs the e2e suite with KUBECONFIG of
# that cluster.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${MESHGATE_KIND_CLUSTER:-meshgate-e2e}"
TAG="${MESHGATE_IMAGE_TAG:-e2e}"
BIN_DIR="${MESHGATE_TESTBINS:-$(cat "$REPO/.local/testbins.path" 2>/dev/null || true)}"
KIND="${KIND:-$(command -v kind || echo "$BIN_DIR/kind")}"
HELM="${HELM:-$(command -v helm || echo "$BIN_DIR/helm")}"
KUBECONFIG_PATH="$REPO/.local/kind-$CLUSTER.kubeconfig"

say() { echo "==> [e2e-kind] $*"; }
die() { echo "e2e-kind: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed; make e2e-kind needs a Docker engine."
docker info >/dev/null 2>&1 || die "docker cannot reach a Docker engine (docker info failed); start one, or run 'make test' for the local harness."
[ -x "$KIND" ] || die "kind not found (looked at $KIND); run 'make testbins' or install kind."
[ -x "$HELM" ] || die "helm not found (looked at $HELM); run 'make testbins' or install helm."

if ! "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  say "creating kind cluster $CLUSTER"
  "$KIND" create cluster --name "$CLUSTER" --config "$REPO/hack/kind/cluster.yaml" --wait 120s
fi
mkdir -p "$REPO/.local"
"$KIND" get kubeconfig --name "$CLUSTER" > "$KUBECONFIG_PATH"
export KUBECONFIG="$KUBECONFIG_PATH"

say "building images (tag $TAG)"
docker build -f "$REPO/operator.Dockerfile" -t "meshgate.local/operator:$TAG" "$REPO"
docker build -f "$REPO/proxy-image/Dockerfile" -t "meshgate.local/meshproxy:$TAG" "$REPO"
docker build -f "$REPO/examples/apps/echo/Dockerfile" -t "meshgate.local/echo:latest" "$REPO"
say "loading images into $CLUSTER"
"$KIND" load docker-image --name "$CLUSTER" "meshgate.local/operator:$TAG" "meshgate.local/meshproxy:$TAG" \
  "meshgate.local/echo:latest"

# The chart templates CRDs from files/crds; until the generator writes there, install from a copy.
CHART="$(mktemp -d)/meshgate"
trap 'rm -rf "$(dirname "$CHART")"' EXIT
cp -r "$REPO/charts/meshgate" "$CHART"
rm -rf "$CHART/crds"
if ! ls "$CHART/files/crds/"*.yaml >/dev/null 2>&1; then
  mkdir -p "$CHART/files/crds" && cp "$REPO/crds/"*.yaml "$CHART/files/crds/"
fi

say "helm install meshgate"
"$HELM" upgrade --install meshgate "$CHART" -n meshgate-system --create-namespace --wait --timeout 5m \
  --set operator.image.repository=meshgate.local/operator --set operator.image.tag="$TAG" \
  --set operator.image.pullPolicy=Never \
  --set proxy.image.repository=meshgate.local/meshproxy --set proxy.image.tag="$TAG" \
  --set proxy.image.pullPolicy=Never

say "running the e2e scenarios against $CLUSTER"
MESHGATE_E2E_TARGET=kind "$REPO/.venv/bin/pytest" -q -p no:cacheprovider -m e2e "$REPO/tests/e2e" "$@"

#!/usr/bin/env bash
# Installs the pinned binaries the tests and `make up` need, built from Go modules through the
# module proxy, into a cache outside the repo. Reuses whatever is already there; safe to rerun.
#
#   kube-apiserver, kube-controller-manager  k8s.io/kubernetes at $K8S_VERSION
#   etcd                                     go.etcd.io/etcd/server/v3 at $ETCD_VERSION
#   helm, kind                               go install at pinned versions
#   kubectl                                  the machine's if present, else built like the rest
#
# Prints the bin directory as its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
HELM_VERSION="${HELM_VERSION:-3.19.0}"
KIND_VERSION="${KIND_VERSION:-0.30.0}"

CACHE="${MESHGATE_CACHE:-$HOME/.cache/meshgate}"
BIN="$CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
WORK="$CACHE/build"
mkdir -p "$BIN" "$WORK"

step() { printf '==> [install-test-bins] %s\n' "$*" >&2; }

command -v go >/dev/null || { echo "install-test-bins: a Go toolchain is required (go not on PATH)" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0

build_kubernetes() {
  local mod="$WORK/kubernetes-$K8S_VERSION"
  mkdir -p "$mod"
  step "resolving k8s.io/kubernetes v$K8S_VERSION and its staging modules"
  local gomod
  gomod=$(cd "$mod" && GOFLAGS= go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  local staging="v0.${K8S_VERSION#1.}"
  {
    echo "module meshgate.local/testbins/kubernetes"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    # Every staging module the release replaces with ./staging/... points at its published v0.x twin.
    grep -E '^\s+k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" \
      | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  step "downloading modules for kube-apiserver and kube-controller-manager (cold: a few minutes)"
  (cd "$mod" && go mod tidy -e >/dev/null 2>"$mod/tidy.log" || { cat "$mod/tidy.log" >&2; exit 1; })
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
    -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*} \
    -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) \
    -X k8s.io/component-base/version.gitTreeState=clean \
    -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION"
  for cmd in kube-apiserver kube-controller-manager; do
    if [ ! -x "$BIN/$cmd" ]; then
      step "building $cmd v$K8S_VERSION (cold: several minutes on 2 cores)"
      (cd "$mod" && go build -ldflags "$ldflags" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
      mv "$BIN/$cmd.tmp" "$BIN/$cmd"
    fi
  done
}

build_etcd() {
  local mod="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  cat >"$mod/go.mod" <<GOMOD
module meshgate.local/testbins/etcd

go 1.24.0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
GOMOD
  cat >"$mod/main.go" <<'GO'
// etcd's own main, built from the published server module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  step "building etcd v$ETCD_VERSION"
  (cd "$mod" && go mod tidy >/dev/null 2>"$mod/tidy.log" || { cat "$mod/tidy.log" >&2; exit 1; })
  (cd "$mod" && go build -ldflags "-s -w" -o "$BIN/etcd.tmp" .)
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

go_install() { # name module@version
  local name=$1 pkg=$2
  [ -x "$BIN/$name" ] && return 0
  step "installing $name ($pkg)"
  GOBIN="$BIN" go install -ldflags "-s -w" "$pkg"
}

if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ]; then
  step "kube-apiserver and kube-controller-manager v$K8S_VERSION: cached"
else
  build_kubernetes
fi
if [ -x "$BIN/etcd" ]; then step "etcd v$ETCD_VERSION: cached"; else build_etcd; fi
go_install helm "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
go_install kind "sigs.k8s.io/kind@v$KIND_VERSION"
if [ ! -x "$BIN/kubectl" ]; then
  if command -v kubectl >/dev/null; then
    ln -sf "$(command -v kubectl)" "$BIN/kubectl"
    step "kubectl: using $(command -v kubectl)"
  else
    step "building kubectl v$K8S_VERSION"
    (cd "$WORK/kubernetes-$K8S_VERSION" 2>/dev/null || build_kubernetes; cd "$WORK/kubernetes-$K8S_VERSION" && go build -ldflags "-s -w" -o "$BIN/kubectl" k8s.io/kubernetes/cmd/kubectl)
  fi
fi
step "test binaries ready in $BIN"
echo "$BIN"

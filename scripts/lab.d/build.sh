#!/usr/bin/env bash
# Builds the lab's Go binaries into a cache outside the repository, keyed by version.
#   kube-apiserver, kube-controller-manager, kube-scheduler: one `go build` in a wrapper
#     module (k8s.io/kubernetes + every staging module replaced by its v0.x tag), so shared
#     packages compile once.
#   kube-router: `go install` at the only tag the module proxy serves here (v2.1.0, pinned; a lab
#     fixture run on lab addresses only, never shipped).
#   kustomize (renders manifests/ for the lab) and the Prometheus Operator's ServiceMonitor and
#     PrometheusRule CRDs (copied out of its Go module), so manifests/base applies to the lab.
#   cilium (only when asked: `build.sh cilium`, never part of `all`): cilium-agent, cilium-cni and
#     cilium-dbg v1.20.2, its BPF sources (compiled by the agent at run time) and its CRDs.
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
CACHE="${NETAUDIT_CACHE:-/var/cache/netaudit}"
K8S_DIR="$CACHE/k8s-v$K8S_VERSION"
KR_DIR="$CACHE/kube-router-$KUBE_ROUTER_VERSION"
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.1}"
KUSTOMIZE_DIR="$CACHE/kustomize-$KUSTOMIZE_VERSION"
PROM_OP_VERSION="${PROM_OP_VERSION:-v0.85.0}"
PROM_OP_DIR="$CACHE/prometheus-operator-$PROM_OP_VERSION"
CILIUM_VERSION="${CILIUM_VERSION:-v1.20.2}"
CILIUM_DIR="$CACHE/cilium-$CILIUM_VERSION"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

START=$SECONDS
say() { [ -n "${CI:-}" ] || printf '\033[2m[lab build %ds]\033[0m %s\n' "$((SECONDS - START))" "$*" >&2; }
fail() { printf '[lab build] FAILED: %s\n' "$*" >&2; exit 1; }
need_go() {
  command -v go >/dev/null 2>&1 || fail "Go >= 1.26 is needed to build the lab's binaries once (cache: $CACHE)"
}

build_k8s() {
  local bins=(kube-apiserver kube-controller-manager kube-scheduler)
  local missing=0
  for b in "${bins[@]}"; do [ -x "$K8S_DIR/bin/$b" ] || missing=1; done
  [ "$missing" = 1 ] || return 0
  need_go
  say "building Kubernetes v$K8S_VERSION control plane (cold: ~5-7 min on 2 cores, module downloads included)"
  local src="$K8S_DIR/src"
  mkdir -p "$src" "$K8S_DIR/bin"
  local minor="${K8S_VERSION#1.}"; minor="${minor%%.*}"
  cat >"$src/go.mod" <<MOD
module lab.local/k8sbins

go 1.26.0

godebug default=go1.26

require k8s.io/kubernetes v$K8S_VERSION
MOD
  for b in "${bins[@]}"; do
    local pkg fn
    case "$b" in
      kube-apiserver) pkg=kube-apiserver fn=NewAPIServerCommand ;;
      kube-controller-manager) pkg=kube-controller-manager fn=NewControllerManagerCommand ;;
      kube-scheduler) pkg=kube-scheduler fn=NewSchedulerCommand ;;
    esac
    mkdir -p "$src/cmd/$b"
    cat >"$src/cmd/$b/main.go" <<GO
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/$pkg/app"
)

func main() { os.Exit(cli.Run(app.$fn())) }
GO
  done
  (
    # errexit does not apply on the left of ||: every step checks itself.
    cd "$src" || exit 1
    # Replace every staging module that k8s.io/kubernetes requires at v0.0.0 by its published tag.
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -n "$gomod" ] && [ -f "$gomod" ] || exit 1
    while read -r m; do
      go mod edit -replace="$m=$m@v0.$minor.${K8S_VERSION##*.}" || exit 1
    done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) v0\.0\.0$#\1#p' "$gomod")
    say "resolving modules"
    go mod tidy >&2 || exit 1
    ldf="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
    say "compiling ${bins[*]}"
    go build -trimpath -ldflags "$ldf" -o "$K8S_DIR/bin/" ./cmd/... >&2 || exit 1
  ) || fail "Kubernetes v$K8S_VERSION (wrapper module in $K8S_DIR/src; rerun to resume, caches are kept)"
  say "Kubernetes v$K8S_VERSION built"
}

build_kube_router() {
  [ -x "$KR_DIR/bin/kube-router" ] && return 0
  need_go
  say "building kube-router $KUBE_ROUTER_VERSION (cold: ~2 min)"
  mkdir -p "$KR_DIR/bin"
  GOBIN="$KR_DIR/bin" go install -trimpath -ldflags "-s -w" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION" >&2 ||
    fail "kube-router $KUBE_ROUTER_VERSION"
  say "kube-router $KUBE_ROUTER_VERSION built"
}

# kustomize renders manifests/ for the lab (the same kustomize kubectl embeds, built once).
build_kustomize() {
  [ -x "$KUSTOMIZE_DIR/bin/kustomize" ] && return 0
  need_go
  say "building kustomize $KUSTOMIZE_VERSION (cold: ~1 min)"
  mkdir -p "$KUSTOMIZE_DIR/bin"
  GOBIN="$KUSTOMIZE_DIR/bin" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2 || fail "kustomize $KUSTOMIZE_VERSION"
}

# The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule) as published in its Go module, so
# manifests/base applies to the lab's API server as it does to a cluster running the operator.
fetch_crds() {
  [ -f "$PROM_OP_DIR/crds/monitoring.coreos.com_prometheusrules.yaml" ] && return 0
  need_go
  say "fetching Prometheus Operator $PROM_OP_VERSION CRDs"
  local dir
  dir=$(cd "$(mktemp -d)" && go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROM_OP_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)".*/\1/p') || fail "prometheus-operator $PROM_OP_VERSION"
  [ -d "$dir/example/prometheus-operator-crd" ] || fail "no CRDs in prometheus-operator $PROM_OP_VERSION"
  mkdir -p "$PROM_OP_DIR/crds"
  for crd in servicemonitors prometheusrules; do
    install -m 0644 "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml" "$PROM_OP_DIR/crds/"
  done
}

# Cilium: the only 1.20 tag the module proxy serves. go.mod pins gobgp at a pseudo-version the proxy
# refuses; v4.7.0 is 4 commits later, touching only BFD internals Cilium never calls. There is no
# vendor/ in the module (upstream builds -mod=vendor), so this builds -mod=mod in a writable copy
# (`go install pkg@version` refuses a module whose go.mod has a replace).
build_cilium() {
  local bins=(cilium-agent cilium-cni cilium-dbg) missing=0
  for b in "${bins[@]}"; do [ -x "$CILIUM_DIR/bin/$b" ] || missing=1; done
  [ -f "$CILIUM_DIR/crds/v2/ciliumendpoints.yaml" ] && [ -f "$CILIUM_DIR/bpf/bpf_lxc.c" ] || missing=1
  [ "$missing" = 1 ] || return 0
  need_go
  say "building Cilium $CILIUM_VERSION (cold: ~10 min on 2 cores)"
  local mod src="$CILIUM_DIR/src"
  mod=$(cd "$(mktemp -d)" && go mod download -json "github.com/cilium/cilium@$CILIUM_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)".*/\1/p') || fail "cilium $CILIUM_VERSION: module download"
  [ -d "$mod/daemon" ] || fail "cilium $CILIUM_VERSION: no module directory"
  if [ ! -f "$src/go.mod" ]; then
    if ! { rm -rf "$src" && mkdir -p "$CILIUM_DIR" && cp -r "$mod" "$src" && chmod -R u+w "$src"; }; then
      fail "cilium $CILIUM_VERSION: copying the module to $src"
    fi
  fi
  (
    cd "$src" || exit 1
    go mod edit -replace github.com/osrg/gobgp/v4=github.com/osrg/gobgp/v4@v4.7.0 || exit 1
    mkdir -p "$CILIUM_DIR/bin" || exit 1
    ldf="-s -w -X \"github.com/cilium/cilium/pkg/version.ciliumVersion=${CILIUM_VERSION#v} lab\""
    for b in "${bins[@]}"; do
      [ -x "$CILIUM_DIR/bin/$b" ] && continue
      case "$b" in
        cilium-agent) pkg=./daemon ;;
        cilium-cni) pkg=./plugins/cilium-cni ;;
        cilium-dbg) pkg=./cilium-dbg ;;
      esac
      say "compiling $b"
      nice -n 10 go build -mod=mod -trimpath -ldflags "$ldf" -o "$CILIUM_DIR/bin/$b.tmp" "$pkg" >&2 || exit 1
      mv "$CILIUM_DIR/bin/$b.tmp" "$CILIUM_DIR/bin/$b" || exit 1
    done
  ) || fail "cilium $CILIUM_VERSION (module copy in $src; rerun to resume, caches are kept)"
  # The datapath sources as `make install-bpf` ships them (no tests), and the CRDs the agent waits for.
  local tmp="$CILIUM_DIR/bpf.tmp"
  rm -rf "$tmp" "$CILIUM_DIR/crds"
  if ! { cp -r "$mod/bpf" "$tmp" && chmod -R u+w "$tmp" &&
    rm -rf "$tmp/tests" "$tmp/complexity-tests" "$tmp/custom" "$tmp"/Makefile* &&
    rm -rf "$CILIUM_DIR/bpf" && mv "$tmp" "$CILIUM_DIR/bpf"; }; then
    fail "cilium $CILIUM_VERSION: BPF sources"
  fi
  for v in v2 v2alpha1; do
    mkdir -p "$CILIUM_DIR/crds/$v"
    install -m 0644 "$mod/pkg/k8s/apis/cilium.io/client/crds/$v"/*.yaml "$CILIUM_DIR/crds/$v/" ||
      fail "cilium $CILIUM_VERSION: CRDs"
  done
  say "Cilium $CILIUM_VERSION built"
}

# The ClusterNetworkPolicy CRD as network-policy-api publishes it, at the version Cilium vendors: the
# agent runs with --enable-k8s-cluster-network-policy and waits for the resource.
NPAPI_VERSION="${NPAPI_VERSION:-v0.2.0}"
fetch_cnp_crd() {
  local out="$CILIUM_DIR/crds/network-policy-api"
  [ -f "$out/policy.networking.k8s.io_clusternetworkpolicies.yaml" ] && return 0
  need_go
  say "fetching network-policy-api $NPAPI_VERSION ClusterNetworkPolicy CRD"
  local dir
  dir=$(cd "$(mktemp -d)" && go mod download -json "sigs.k8s.io/network-policy-api@$NPAPI_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)".*/\1/p') || fail "network-policy-api $NPAPI_VERSION"
  mkdir -p "$out"
  install -m 0644 "$dir/config/crd/standard/policy.networking.k8s.io_clusternetworkpolicies.yaml" "$out/" ||
    fail "network-policy-api $NPAPI_VERSION: CRD"
}

case "${1:-all}" in
  k8s) build_k8s; echo "$K8S_DIR/bin" ;;
  kube-router) build_kube_router; echo "$KR_DIR/bin" ;;
  kustomize) build_kustomize; echo "$KUSTOMIZE_DIR/bin" ;;
  crds) fetch_crds; echo "$PROM_OP_DIR/crds" ;;
  cilium) build_cilium; fetch_cnp_crd; echo "$CILIUM_DIR/bin" ;;
  all) build_kube_router; build_k8s; build_kustomize; fetch_crds; echo "$K8S_DIR/bin:$KR_DIR/bin:$KUSTOMIZE_DIR/bin" ;;
  *) echo "usage: build.sh [all|k8s|kube-router|kustomize|crds|cilium]" >&2; exit 2 ;;
esac

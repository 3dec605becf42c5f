#!/usr/bin/env bash
# Installs the Debian packages the lab needs, once (apt-get update only when something is missing).
#   deps.sh [kube-router|cilium]: Cilium also needs clang 19 (it compiles its datapath at run time;
#   Debian's default clang 14 is too old) and bpftool (the lab's checks for leftover programs).
set -euo pipefail
enforcer=${1:-kube-router}
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have etcd || need+=(etcd-server)
have iptables || need+=(iptables)
have ipset || need+=(ipset)
have ip || need+=(iproute2)
have conntrack || need+=(conntrack)
have openssl || need+=(openssl)
have setpriv || need+=(util-linux)
have unshare || need+=(util-linux)
if [ "$enforcer" = cilium ]; then
  [ -x /usr/lib/llvm-19/bin/clang ] || need+=(clang-19)
  have bpftool || need+=(bpftool)
fi
have go || { echo "lab: Go is needed for the first (cold) build; install Go >= 1.26" >&2; }
[ ${#need[@]} -eq 0 ] && exit 0
[ -n "${CI:-}" ] || echo "[lab] installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2

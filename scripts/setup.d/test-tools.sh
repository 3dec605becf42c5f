#!/usr/bin/env bash
# The tools the test suite checks the project with, installed once: shellcheck (every shipped bash
# script) and promtool (the PrometheusRule's alerts and their unit tests). promtool is taken out of
# Debian's prometheus package rather than installing it, so no Prometheus server is ever started.
# Prints the directory to put on PATH.
set -euo pipefail
CACHE="${NETAUDIT_CACHE:-/var/cache/netaudit}"
TOOLS="$CACHE/tools"
mkdir -p "$TOOLS"
export DEBIAN_FRONTEND=noninteractive
updated=
apt_update() { [ -n "$updated" ] || { apt-get update -qq >&2; updated=1; }; }
if ! command -v shellcheck >/dev/null 2>&1; then
  [ -n "${CI:-}" ] || echo "[setup] installing shellcheck" >&2
  apt_update
  apt-get install -y -qq --no-install-recommends shellcheck >&2
fi
if ! command -v promtool >/dev/null 2>&1 && [ ! -x "$TOOLS/promtool" ]; then
  [ -n "${CI:-}" ] || echo "[setup] extracting promtool from Debian's prometheus package" >&2
  apt_update
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq prometheus >&2)
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  install -m 0755 "$work/root/usr/bin/promtool" "$TOOLS/promtool"
fi
echo "$TOOLS"

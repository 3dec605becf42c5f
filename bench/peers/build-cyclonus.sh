#!/usr/bin/env bash
# Builds cyclonus (the peer analyser the benchmark compares `netaudit analyze` with) once, into a
# cache outside the repository keyed by version, as scripts/lab.d/build.sh does for the lab's
# binaries: `go install` through the Go module proxy, CGO_ENABLED=0, nothing from the build lands in
# the repository. Prints the binary's path on stdout; progress goes to stderr. A no-op when cached.
#
# The machine's 2 cores are shared with other builds (the lab's Kubernetes and Cilium builds take
# minutes): this waits, up to 15 minutes, while another Go compile is running, then compiles at
# nice 10, so that neither build starves the other and the timings of neither are skewed by both.
set -euo pipefail

CYCLONUS_VERSION="${CYCLONUS_VERSION:-v0.5.6}"
CACHE="${NETAUDIT_CACHE:-/var/cache/netaudit}"
DIR="$CACHE/cyclonus-$CYCLONUS_VERSION"
BIN="$DIR/bin/cyclonus"
WAIT_S="${CYCLONUS_BUILD_WAIT_S:-900}"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
# Go is installed at /usr/local/go on the project's machines, not always on PATH.
[ -d /usr/local/go/bin ] && PATH="$PATH:/usr/local/go/bin"

START=$SECONDS
say() { [ -n "${CI:-}" ] || printf '\033[2m[cyclonus build %ds]\033[0m %s\n' "$((SECONDS - START))" "$*" >&2; }
fail() { printf '[cyclonus build] FAILED: %s\n' "$*" >&2; exit 1; }

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null 2>&1 || fail "Go >= 1.22 is needed to build cyclonus once (cache: $CACHE)"

# Another build's compiler processes (go build's work directories are /tmp/go-build*; the compiler
# is .../pkg/tool/<os_arch>/compile). Our own process is not running yet, so any match is another's.
busy() { pgrep -f 'go-build|/compile ' >/dev/null 2>&1; }
waited=0
if busy; then
  say "another Go build is running; waiting for it (at most ${WAIT_S}s)"
  while busy && [ "$waited" -lt "$WAIT_S" ]; do
    sleep 10
    waited=$((waited + 10))
  done
  busy && say "still busy after ${WAIT_S}s; building anyway at nice 10"
fi

say "building cyclonus $CYCLONUS_VERSION (module downloads included)"
mkdir -p "$DIR/bin"
t0=$SECONDS
# cyclonus's go.mod has no replace directive, so `go install pkg@version` accepts it. The binary is
# written to a temporary GOBIN and moved in place, so an interrupted build never leaves a partial
# binary that a later run would take for a cached one.
tmp=$(mktemp -d "$DIR/bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags "-s -w" \
  "github.com/mattfenwick/cyclonus/cmd/cyclonus@$CYCLONUS_VERSION" >&2 ||
  fail "cyclonus $CYCLONUS_VERSION (rerun to resume; module and build caches are kept)"
mv "$tmp/cyclonus" "$BIN"
say "cyclonus $CYCLONUS_VERSION built in $((SECONDS - t0))s (after ${waited}s waiting)"
echo "$BIN"

# Sourced by the project's scripts: provisions Node 24 (npm package node@24) into .tools/node
# and puts it first on PATH, whatever node the machine has. Idempotent and quiet when present.
NETAUDIT_ROOT="${NETAUDIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
NETAUDIT_NODE_DIR="$NETAUDIT_ROOT/.tools/node"
NETAUDIT_NODE="$NETAUDIT_NODE_DIR/node_modules/node/bin/node"
netaudit_provision_node() {
  if [ -x "$NETAUDIT_NODE" ] && "$NETAUDIT_NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)' 2>/dev/null; then
    return 0
  fi
  echo "netaudit: provisioning Node 24 into .tools/node (npm package node@24)" >&2
  mkdir -p "$NETAUDIT_NODE_DIR"
  npm install --prefix "$NETAUDIT_NODE_DIR" --no-audit --no-fund --loglevel=error node@24 >&2
  # npm 11 may skip the package's install script; the real binary is what we need.
  if [ ! -x "$NETAUDIT_NODE" ] || ! file -L "$NETAUDIT_NODE" 2>/dev/null | grep -q ELF; then
    local real
    real=$(find "$NETAUDIT_NODE_DIR/node_modules" -path '*/bin/node' -type f -size +1M | head -n1)
    [ -n "$real" ] && NETAUDIT_NODE="$real"
  fi
  "$NETAUDIT_NODE" --version >/dev/null
}
netaudit_provision_node
PATH="$(dirname "$NETAUDIT_NODE"):$NETAUDIT_ROOT/node_modules/.bin:$PATH"
export PATH

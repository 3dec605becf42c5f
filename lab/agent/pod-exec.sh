#!/bin/bash
# Runs one container process of a lab pod. Started by the node agent as
#   ip netns exec <pod netns> pod-exec.sh EXITFILE MSGFILE TERMPATH UID GID WORKDIR SECOPTS -- CMD ARGS...
# with the container's environment. `ip netns exec` gives it a private mount namespace; in it the
# container's terminationMessagePath becomes a bind mount of MSGFILE (the agent reads it after the
# exit), under a private tmpfs /dev when the path is in /dev (nothing is written to the host's /dev).
# The command runs as a child (as UID:GID when given) so its exit code lands in EXITFILE even when
# the agent that started it has been restarted meanwhile. SIGTERM/SIGINT are forwarded.
# UID/GID: securityContext runAsUser/runAsGroup ("-" = unset). SECOPTS: comma list of
#   nnp (allowPrivilegeEscalation: false -> no_new_privs), dropall (capabilities.drop: [ALL]), or "-".
set -u
exitfile=$1 msgfile=$2 termpath=$3 uid=$4 gid=$5 workdir=$6 secopts=$7
shift 7
[ "${1:-}" = "--" ] && shift
M=/usr/bin/mount

setup_termination_log() {
  case "$termpath" in
    /dev/*)
      local stage="${msgfile}.dev"
      mkdir -p "$stage"
      $M -t tmpfs -o mode=755,size=4m nalab-dev "$stage" || return 1
      local d
      for d in null zero full random urandom tty; do
        [ -e "/dev/$d" ] || continue
        : >"$stage/$d" && $M --bind "/dev/$d" "$stage/$d"
      done
      ln -s /proc/self/fd "$stage/fd"
      ln -s /proc/self/fd/0 "$stage/stdin"
      ln -s /proc/self/fd/1 "$stage/stdout"
      ln -s /proc/self/fd/2 "$stage/stderr"
      mkdir -p "$stage/shm" "$stage/pts" && $M -t tmpfs -o mode=1777 shm "$stage/shm"
      local rel=${termpath#/dev/}
      mkdir -p "$stage/$(dirname "$rel")"
      : >"$stage/$rel" && $M --bind "$msgfile" "$stage/$rel" || return 1
      $M --move "$stage" /dev
      ;;
    /*)
      if [ ! -e "$termpath" ]; then mkdir -p "$(dirname "$termpath")" && : >"$termpath"; fi
      $M --bind "$msgfile" "$termpath"
      ;;
  esac
}

if ! setup_termination_log; then
  echo "nalab: could not set up terminationMessagePath $termpath" >&2
fi
# Volumes the agent prepared (the projected ServiceAccount token): SOURCE=TARGET;... Targets live under
# /run (/var/run links there): a fresh tmpfs on /run gives the container its own /run, as a container
# runtime does, so nothing is created on the host's.
if [ -n "${NALAB_MOUNTS:-}" ]; then
  $M -t tmpfs -o mode=755,size=4m nalab-run /run || echo "nalab: could not mount /run" >&2
  IFS=';' read -ra mounts <<<"$NALAB_MOUNTS"
  for m in "${mounts[@]}"; do
    src=${m%%=*} dst=${m#*=}
    case "$dst" in
      /run/* | /var/run/*) mkdir -p "$dst" && $M --bind -o ro "$src" "$dst" ;;
      *) echo "nalab: volume mount $dst is outside /run: not supported by the lab" >&2 ;;
    esac
  done
fi
unset NALAB_MOUNTS
cd "$workdir" 2>/dev/null || cd /

priv=()
if [ "$uid" != "-" ]; then
  [ "$gid" = "-" ] && gid=0
  priv+=(--reuid="$uid" --regid="$gid" --clear-groups)
elif [ "$gid" != "-" ]; then
  priv+=(--regid="$gid" --clear-groups)
fi
case ",$secopts," in *,nnp,*) priv+=(--no-new-privs) ;; esac
case ",$secopts," in *,dropall,*) priv+=(--bounding-set=-all --inh-caps=-all) ;; esac
[ ${#priv[@]} -gt 0 ] && set -- /usr/bin/setpriv "${priv[@]}" -- "$@"

child=
forward() { [ -n "$child" ] && kill "-$1" "$child" 2>/dev/null; }
trap 'forward TERM' TERM
trap 'forward INT' INT
"$@" &
child=$!
rc=0
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break
done
echo "$rc $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$exitfile.tmp" && mv "$exitfile.tmp" "$exitfile"
exit "$rc"

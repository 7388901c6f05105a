#!/usr/bin/env bash
# Stop the local control plane started by up.sh and remove its state:
#   kwok, kube-controller-manager, kube-scheduler and kube-apiserver (together),
#   then etcd; then
#   ${OTTOSCALER_DEV_DIR:-<repo>/.dev}/control-plane/ and .../kubeconfig.
#
# Each component was started by up.sh as the leader of its own process group
# (setsid), with its pid in control-plane/pids/<component>.pid. A pid is only
# signalled if /proc/<pid>/cmdline still names that component, so a recycled
# pid is never hit. SIGTERM to the process, then to its process group, then
# SIGKILL to the group after a grace period. Everything is removed even if the
# processes were already gone (e.g. after a reboot or kill -9).
#
# Safe to run when nothing is up (exits 0). Environment: OTTOSCALER_DEV_DIR,
# OTTOSCALER_DOWN_GRACE (seconds to wait after SIGTERM, default 10).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
DEV_DIR="${OTTOSCALER_DEV_DIR:-$REPO_ROOT/.dev}"
STATE="$DEV_DIR/control-plane"
KUBECONFIG_OUT="$DEV_DIR/kubeconfig"
GRACE="${OTTOSCALER_DOWN_GRACE:-10}"

LOG_NAME=down
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ $GRACE =~ ^[0-9]+$ ]] || die "OTTOSCALER_DOWN_GRACE must be a whole number of seconds"

if [[ ! -d $DEV_DIR ]]; then
  log "nothing to do ($DEV_DIR does not exist)"
  exit 0
fi
# Same lock as up.sh.
exec 9>"$DEV_DIR/control-plane.lock"
flock 9

# group_alive <pgid>: any process left in that process group.
group_alive() { kill -0 -- "-$1" 2>/dev/null; }

# reap_orphans <component>: the leader is gone (or never recorded) but its
# process group may have members left (a leader normally has no children
# here; be thorough). Only a group whose members carry the component's name.
reap_orphans() {
  local name=$1 pid members
  [[ -r $STATE/pids/$name.pid ]] || return 0
  pid="$(<"$STATE/pids/$name.pid")"
  [[ $pid =~ ^[0-9]+$ ]] && group_alive "$pid" || return 0
  # Session id == pgid == the leader's pid (setsid). comm is cut at 15 chars.
  members="$(ps -o comm= -s "$pid" 2>/dev/null || true)"
  if grep -qx -- "${name:0:15}" <<<"$members"; then
    log "$name: leader gone, killing leftover process group $pid"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
}

# stop <component...>: SIGTERM them all at once, wait up to $GRACE s for each,
# then SIGTERM its process group, then SIGKILL the group.
stop() {
  local name pid deadline
  local -A pids=()
  for name in "$@"; do
    if pid="$(pid_of "$name")"; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids[$name]=$pid
    else
      reap_orphans "$name"
    fi
  done
  deadline=$((SECONDS + GRACE))
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if group_alive "$pid"; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      sleep 1
    fi
    if group_alive "$pid"; then
      log "$name did not exit after SIGTERM; sending SIGKILL to process group $pid"
      kill -KILL -- "-$pid" 2>/dev/null || true
      sleep 0.2
    fi
    ! group_alive "$pid" || die "$name (process group $pid) is still running"
  done
}

if [[ -d $STATE ]]; then
  # Clients of the apiserver and the apiserver together, then etcd (an
  # apiserver that loses etcd first only takes longer to shut down).
  stop kwok kube-controller-manager kube-scheduler kube-apiserver
  stop etcd
  rm -rf -- "$STATE"
  log "removed $STATE"
else
  log "no state dir at $STATE"
fi
if [[ -e $KUBECONFIG_OUT ]]; then
  rm -f -- "$KUBECONFIG_OUT"
  log "removed $KUBECONFIG_OUT"
fi
log "down"

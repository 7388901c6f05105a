#!/usr/bin/env bash
# Stop one component of the running local control plane (started by up.sh) and start it again
# with the same command line, environment and state, for fault injection (tasks/chaos/):
#
#   restart.sh COMPONENT [DOWN_SECONDS]          # e.g. restart.sh kube-apiserver
#   restart.sh --pause COMPONENT SECONDS         # SIGSTOP, SECONDS, SIGCONT (e.g. etcd 10)
#
# COMPONENT is etcd, kube-apiserver, kube-scheduler, kube-controller-manager or kwok. A restart
# sends SIGTERM (SIGKILL after OTTOSCALER_DOWN_GRACE seconds, default 10), keeps it down
# DOWN_SECONDS (default 0), and starts it again exactly as up.sh had started it (argv and
# environment read from /proc before the stop; etcd keeps its data dir, so nothing stored is lost)
# as the leader of its own process group, with its new pid in control-plane/pids/<component>.pid,
# so down.sh still stops it. A pause freezes the process instead: its connections stay open and
# hang, the harsher failure for its clients. Either way the script returns once the component
# answers its health check again (etcd /health, the others /healthz) and kube-apiserver /readyz
# is 200 (it checks etcd), or fails after OTTOSCALER_UP_TIMEOUT seconds (default 60) with the log's
# tail. Prints "down_ms=<fault..started> up_ms=<started..healthy>" on stdout.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
DEV_DIR="${OTTOSCALER_DEV_DIR:-$REPO_ROOT/.dev}"
STATE="$DEV_DIR/control-plane"
GRACE="${OTTOSCALER_DOWN_GRACE:-10}"
TIMEOUT="${OTTOSCALER_UP_TIMEOUT:-60}"
LOG_NAME=restart
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

PAUSE=0
if [[ ${1:-} == --pause ]]; then
  PAUSE=1
  shift
  [[ -n ${2:-} ]] || die "--pause needs SECONDS"
fi
NAME="${1:-}"
DOWN="${2:-0}"
case $NAME in
  etcd | kube-apiserver | kube-scheduler | kube-controller-manager | kwok) ;;
  *) die "usage: restart.sh etcd|kube-apiserver|kube-scheduler|kube-controller-manager|kwok [DOWN_SECONDS]" ;;
esac
[[ $DOWN =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DOWN_SECONDS must be a number of seconds (got '$DOWN')"
[[ -r $STATE/ports.env ]] || die "no control plane in $STATE (run up.sh first)"
source "$STATE/ports.env"

exec 9>"$DEV_DIR/control-plane.lock"
flock 9

PID="$(pid_of "$NAME")" || die "$NAME is not running (no live pid in $STATE/pids/$NAME.pid)"
mapfile -d '' -t ARGV <"/proc/$PID/cmdline"
mapfile -d '' -t ENVIRON <"/proc/$PID/environ"
((${#ARGV[@]} > 0)) || die "cannot read the command line of $NAME (pid $PID)"

now_ms() { date +%s%3N; }

case $NAME in
  etcd) healthy() { http_ok "http://127.0.0.1:$ETCD_PORT/health"; } ;;
  kube-apiserver) healthy() { http_ok "https://127.0.0.1:$APISERVER_PORT/healthz"; } ;;
  kube-scheduler) healthy() { http_ok "https://127.0.0.1:$SCHEDULER_PORT/healthz"; } ;;
  kube-controller-manager) healthy() { http_ok "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz"; } ;;
  kwok) healthy() { http_ok "http://127.0.0.1:$KWOK_PORT/healthz"; } ;;
esac
plane_ready() { healthy && [[ $(api_code "https://127.0.0.1:$APISERVER_PORT/readyz") == 200 ]]; }
until_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  until plane_ready; do
    if ! pid_of "$NAME" >/dev/null || ((SECONDS >= deadline)); then
      die "$NAME did not come back healthy; last log lines:
$(tail -n 30 "$STATE/logs/$NAME.log")"
    fi
    sleep 0.1
  done
}

T0="$(now_ms)"
if ((PAUSE)); then
  kill -STOP "$PID"
  trap 'kill -CONT "$PID" 2>/dev/null || true' EXIT # never leave it frozen
  log "$NAME paused (pid $PID) for ${DOWN}s"
  sleep "$DOWN"
  T1="$(now_ms)"
  kill -CONT "$PID"
  until_ready
  T2="$(now_ms)"
  log "$NAME resumed and the control plane is ready"
  echo "down_ms=$((T1 - T0)) up_ms=$((T2 - T1))"
  exit 0
fi

kill -TERM "$PID" 2>/dev/null || true
for ((i = 0; i < GRACE * 10; i++)); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
  log "$NAME did not stop within ${GRACE}s; SIGKILL"
  kill -KILL -- "-$PID" 2>/dev/null || kill -KILL "$PID" 2>/dev/null || true
  while kill -0 "$PID" 2>/dev/null; do sleep 0.1; done
fi
log "$NAME stopped (pid $PID)"
sleep "$DOWN"

rm -f "$STATE/pids/$NAME.pid"
T1="$(now_ms)"
setsid env -i "${ENVIRON[@]}" bash -c '
  echo $$ >"$1"; shift
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}; [[ $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null
  done
  exec nohup "$@"' _ \
  "$STATE/pids/$NAME.pid" "${ARGV[@]}" \
  >>"$STATE/logs/$NAME.log" 2>&1 </dev/null &

for ((i = 0; i < 50; i++)); do
  [[ -s $STATE/pids/$NAME.pid ]] && pid_of "$NAME" >/dev/null && break
  sleep 0.1
done
pid_of "$NAME" >/dev/null || die "$NAME did not start again; last log lines:
$(tail -n 20 "$STATE/logs/$NAME.log")"

until_ready
T2="$(now_ms)"
log "$NAME is back (pid $(<"$STATE/pids/$NAME.pid"))"
echo "down_ms=$((T1 - T0)) up_ms=$((T2 - T1))"

#!/usr/bin/env bash
# Start a local Kubernetes control plane for Ottoscaler's tests and benchmarks
# and return, leaving it running in the background:
#   etcd -> kube-apiserver -> kube-scheduler -> kube-controller-manager ->
#   kwok (simulated nodes and pods)
# No kubelet, no container runtime: KWOK plays the kubelet for N fake nodes,
# driven by the Stage objects in stages.yaml. kube-controller-manager runs only
# the resourcequota, garbagecollector and namespace controllers: quota usage
# is computed, ownerReferences garbage-collect, deleted namespaces go away.
# Beside it: certs.cnf (certificate extensions), kubeconfig.yaml, kwok-logs.yaml
# and node.json (templates filled by lib.sh's render), logs-crd.json.
#
# Usage:  tasks/control_plane/up.sh        (stop with tasks/control_plane/down.sh)
#
# Environment:
#   OTTOSCALER_DEV_DIR          default <repo>/.dev (git-ignored); state goes to
#                               $OTTOSCALER_DEV_DIR/control-plane/, the admin
#                               kubeconfig to $OTTOSCALER_DEV_DIR/kubeconfig
#   OTTOSCALER_DEV_NODES        number of simulated nodes (default 3)
#   OTTOSCALER_ETCD_PORT, OTTOSCALER_ETCD_PEER_PORT, OTTOSCALER_APISERVER_PORT,
#   OTTOSCALER_SCHEDULER_PORT, OTTOSCALER_CONTROLLER_MANAGER_PORT,
#   OTTOSCALER_KWOK_PORT
#                               fixed loopback ports; when unset, the defaults
#                               23790 23800 26443 26459 26457 26250 are used, or
#                               the next free port above a default that is taken
#   OTTOSCALER_UP_TIMEOUT       seconds to wait for each component (default 60)
#   (build.sh's KUBE_VERSION / ETCD_VERSION / KWOK_VERSION / OTTOSCALER_CACHE apply)
#
# Idempotent: if the control plane recorded in the state dir is running and
# healthy it says so and exits 0; a stale or broken one is torn down (down.sh)
# and started afresh. A running plane is reused as it is: changed port or
# node-count variables take effect only after down.sh. Progress goes to
# stderr, the usage summary to stdout. Needs bash, curl, openssl, setsid,
# flock, base64; not kubectl.
#
# Pod logs (GET /api/v1/namespaces/<ns>/pods/<pod>/log) work like this:
#   the apiserver looks up the pod's node, takes the node's InternalIP
#   (127.0.0.1, from kwok --node-ip) and kubelet port (status.daemonEndpoints,
#   from kwok --node-port) and calls https://127.0.0.1:<kwok port>/containerLogs/
#   <ns>/<pod>/<container> on kwok's kubelet-like server (--server-address),
#   verifying kwok's serving cert against our CA. KWOK answers from a file in
#   CRI log format, one line per entry:
#       2026-01-01T00:00:00.000000000Z stdout F hello world
#   (timestamp RFC 3339, stream stdout|stderr, F = full line / P = partial).
#   Which file: a namespaced kwok.x-k8s.io/v1alpha1 `Logs` object with the
#   pod's namespace and name wins (its CRD is installed here and kwok watches
#   it: --enable-crds=Logs); otherwise the `ClusterLogs` in kwok-logs.yaml
#   sends every pod to $STATE/logs/pods/default.log. A test appends lines to
#   that file, or creates the file and a Logs object (before asking for the
#   log; kwok sees new Logs objects through a watch, so allow a moment):
#       {"apiVersion":"kwok.x-k8s.io/v1alpha1","kind":"Logs",
#        "metadata":{"name":"<pod>","namespace":"<ns>"},
#        "spec":{"logs":[{"logsFile":"/abs/path/<pod>.log"}]}}
#   A follow=true stream from KWOK never ends, even after the pod finished:
#   the reader must stop on the pod's terminal phase.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
DEV_DIR="${OTTOSCALER_DEV_DIR:-$REPO_ROOT/.dev}"
STATE="$DEV_DIR/control-plane"
KUBECONFIG_OUT="$DEV_DIR/kubeconfig"
NODES="${OTTOSCALER_DEV_NODES:-3}"
TIMEOUT="${OTTOSCALER_UP_TIMEOUT:-60}"
STAGES="$SCRIPT_DIR/stages.yaml"
LOG_NAME=up
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

# Start order; down.sh stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-scheduler kube-controller-manager kwok)

[[ $NODES =~ ^[0-9]+$ ]] || die "OTTOSCALER_DEV_NODES must be a non-negative integer (got '$NODES')"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "OTTOSCALER_UP_TIMEOUT must be a positive integer"
for tool in curl openssl setsid flock base64; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found in PATH"
done
for f in "$STAGES" "$SCRIPT_DIR"/{certs.cnf,kubeconfig.yaml,kwok-logs.yaml,logs-crd.json,node.json}; do
  [[ -f $f ]] || die "missing $f"
done

mkdir -p "$DEV_DIR"
# One up/down at a time (down.sh takes the same lock). The lock file lives
# outside the state dir so that down.sh can delete the state dir.
exec 9>"$DEV_DIR/control-plane.lock"
flock 9

# --- helpers (and lib.sh's: log, die, pid_of, api, api_code, http_ok, render) --

# healthy: everything recorded in the state dir is alive and answering.
healthy() {
  [[ -r $STATE/ports.env && -r $STATE/pki/admin.key && -r $KUBECONFIG_OUT ]] || return 1
  # shellcheck source=/dev/null
  source "$STATE/ports.env"
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
  [[ $(api_code "https://127.0.0.1:$APISERVER_PORT/readyz") == 200 ]] || return 1
  http_ok "https://127.0.0.1:$SCHEDULER_PORT/healthz" || return 1
  [[ -n ${CONTROLLER_MANAGER_PORT:-} ]] || return 1 # a plane started before it was added
  http_ok "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" || return 1
  http_ok "http://127.0.0.1:$KWOK_PORT/healthz" || return 1
}

print_usage() {
  # shellcheck source=/dev/null
  source "$STATE/ports.env"
  cat <<EOF

Local control plane is up: https://127.0.0.1:$APISERVER_PORT ($NODE_COUNT kwok node(s); admin = system:masters)
  kubeconfig        $KUBECONFIG_OUT        (export KUBECONFIG=$KUBECONFIG_OUT)
  env for scripts   source $STATE/env
  curl              curl --cacert $STATE/pki/ca.crt --cert $STATE/pki/admin.crt --key $STATE/pki/admin.key \\
                         https://127.0.0.1:$APISERVER_PORT/api/v1/nodes
  pod log file      $STATE/logs/pods/default.log  (CRI format: '<RFC3339 time> stdout F <text>'; per-pod: a kwok Logs object)
  component logs    $STATE/logs/{etcd,kube-apiserver,kube-scheduler,kube-controller-manager,kwok}.log
  simulated pods    label managed-by=ottoscaler; run time from annotation ottoscaler.io/sim-duration
                    or env OTTO_SIM_DURATION (e.g. "2s", default 1s), exit code from
                    ottoscaler.io/sim-exit-code or env OTTO_SIM_EXIT_CODE (0 -> Succeeded, else
                    Failed); activeDeadlineSeconds is enforced; images under registry.invalid/
                    fail with ErrImagePull (see tasks/control_plane/stages.yaml)
  stop              $SCRIPT_DIR/down.sh
EOF
}

# --- already up? ------------------------------------------------------------------

if [[ -d $STATE ]]; then
  if healthy; then
    log "already up and healthy (state: $STATE)"
    print_usage
    exit 0
  fi
  log "found a stale or unhealthy control plane in $STATE; tearing it down first"
  flock -u 9 # down.sh takes the lock itself
  "$SCRIPT_DIR/down.sh"
  flock 9
fi

# --- binaries -------------------------------------------------------------------

BIN_DIR="$("$SCRIPT_DIR/build.sh")" || die "build.sh failed"
# kube-controller-manager has a cache entry of its own (see build.sh).
KCM_DIR="$("$SCRIPT_DIR/build.sh" kube-controller-manager)" || die "build.sh kube-controller-manager failed"
declare -A BIN_OF=()
for c in "${COMPONENTS[@]}"; do
  BIN_OF[$c]="$BIN_DIR/$c"
done
BIN_OF[kube-controller-manager]="$KCM_DIR/kube-controller-manager"
for c in "${COMPONENTS[@]}"; do
  [[ -x ${BIN_OF[$c]} ]] || die "build.sh gave no executable ${BIN_OF[$c]}"
done

# --- ports ------------------------------------------------------------------------

# port_in_use <port>: something accepts connections on 127.0.0.1:<port>.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

declare -A TAKEN=()
# pick_port <ENV_VAR_NAME> <default>: the env override if set (must be free),
# else the default or the next free port above it.
pick_port() {
  local var=$1 port=${!1:-} tries
  if [[ -n $port ]]; then
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      die "$var must be a port number (got '$port')"
    fi
    [[ -z ${TAKEN[$port]:-} ]] || die "$var=$port is also used for another component"
    port_in_use "$port" && die "$var=$port: 127.0.0.1:$port is already in use"
  else
    port=$2
    for ((tries = 0; ; tries++)); do
      ((tries < 200)) || die "no free port found in $2..$((2 + 200)) for $var"
      if [[ -z ${TAKEN[$port]:-} ]] && ! port_in_use "$port"; then break; fi
      port=$((port + 1))
    done
  fi
  TAKEN[$port]=1
  echo "$port"
}
ETCD_PORT="$(pick_port OTTOSCALER_ETCD_PORT 23790)"; TAKEN[$ETCD_PORT]=1
ETCD_PEER_PORT="$(pick_port OTTOSCALER_ETCD_PEER_PORT 23800)"; TAKEN[$ETCD_PEER_PORT]=1
APISERVER_PORT="$(pick_port OTTOSCALER_APISERVER_PORT 26443)"; TAKEN[$APISERVER_PORT]=1
SCHEDULER_PORT="$(pick_port OTTOSCALER_SCHEDULER_PORT 26459)"; TAKEN[$SCHEDULER_PORT]=1
CONTROLLER_MANAGER_PORT="$(pick_port OTTOSCALER_CONTROLLER_MANAGER_PORT 26457)"; TAKEN[$CONTROLLER_MANAGER_PORT]=1
KWOK_PORT="$(pick_port OTTOSCALER_KWOK_PORT 26250)"; TAKEN[$KWOK_PORT]=1
# (pick_port runs in a subshell, hence the TAKEN updates out here.)

# --- state dir, certificates --------------------------------------------------------

umask 077
mkdir -p "$STATE"/{pki,pids,logs/pods,etcd-data,kwok-workdir}
PKI="$STATE/pki"

# From here on, a failure stops whatever was started (logs are kept).
STARTED_OK=0
on_exit() {
  local rc=$?
  ((STARTED_OK)) && return
  log "start-up failed (exit $rc); stopping what was started. Logs: $STATE/logs/"
  local k pid
  for ((k = ${#COMPONENTS[@]} - 1; k >= 0; k--)); do
    pid="$(pid_of "${COMPONENTS[k]}")" || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  log "run $SCRIPT_DIR/down.sh to remove $STATE"
}
trap on_exit EXIT

log "generating certificates in $PKI"
ossl() { openssl "$@" 2>>"$STATE/logs/openssl.log" >/dev/null || die "openssl $1 failed (see $STATE/logs/openssl.log)"; }

# The CA and the certificates it signs, with the extensions of certs.cnf.
CERTS="$SCRIPT_DIR/certs.cnf"
ossl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ottoscaler-dev-ca" \
  -config "$CERTS" -extensions ca -keyout "$PKI/ca.key" -out "$PKI/ca.crt"

# sign <name> <subject>: key + CA-signed cert $PKI/<name>.{key,crt}, with the
# extensions of section [<name>] of certs.cnf.
sign() {
  local name=$1 subj=$2
  ossl req -new -newkey rsa:2048 -nodes -subj "$subj" -keyout "$PKI/$name.key" -out "$PKI/$name.csr"
  ossl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$CERTS" -extensions "$name" -out "$PKI/$name.crt"
  rm -f "$PKI/$name.csr"
}
sign apiserver "/CN=kube-apiserver"
sign kwok "/CN=kwok-kubelet"
sign admin "/O=system:masters/CN=ottoscaler-admin"
# Service-account token signing key pair.
ossl genrsa -out "$PKI/sa.key" 2048
ossl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"

# --- kubeconfig, env, kwok logs config ------------------------------------------------

CA_DATA="$(base64 -w0 <"$PKI/ca.crt")"
ADMIN_CERT_DATA="$(base64 -w0 <"$PKI/admin.crt")"
ADMIN_KEY_DATA="$(base64 -w0 <"$PKI/admin.key")"
# The components use their own copy, so deleting the user-facing one is harmless.
render "$SCRIPT_DIR/kubeconfig.yaml" APISERVER_PORT CA_DATA ADMIN_CERT_DATA ADMIN_KEY_DATA \
  >"$STATE/admin.kubeconfig"

cat >"$STATE/ports.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
SCHEDULER_PORT=$SCHEDULER_PORT
CONTROLLER_MANAGER_PORT=$CONTROLLER_MANAGER_PORT
KWOK_PORT=$KWOK_PORT
NODE_COUNT=$NODES
BIN_DIR=$BIN_DIR
KCM_DIR=$KCM_DIR
EOF

# Sourceable by tests and scripts.
cat >"$STATE/env" <<EOF
OTTOSCALER_KUBECONFIG=$KUBECONFIG_OUT
OTTOSCALER_APISERVER=https://127.0.0.1:$APISERVER_PORT
OTTOSCALER_CA_CERT=$PKI/ca.crt
OTTOSCALER_CLIENT_CERT=$PKI/admin.crt
OTTOSCALER_CLIENT_KEY=$PKI/admin.key
OTTOSCALER_POD_LOG_FILE=$STATE/logs/pods/default.log
OTTOSCALER_POD_LOG_DIR=$STATE/logs/pods
OTTOSCALER_NODE_COUNT=$NODES
EOF

# Default log for every pod that has no Logs object of its own. KWOK reads it
# with the CRI log reader, so it must exist (an empty file reads as no output).
: >"$STATE/logs/pods/default.log"
chmod 644 "$STATE/logs/pods/default.log"
DEFAULT_POD_LOG="$STATE/logs/pods/default.log"
render "$SCRIPT_DIR/kwok-logs.yaml" DEFAULT_POD_LOG >"$STATE/kwok-logs.yaml"

# --- start ------------------------------------------------------------------------

# start <component> <args...>: run the component's binary detached in its own
# session/process group (setsid) immune to hangups (nohup); the pid, which is
# also the process-group id, goes to pids/<component>.pid. The inner shell
# records its own pid and then execs, so the pid is right whether or not
# setsid had to fork. It also closes every fd above 2 first: a daemon that
# inherited the up/down lock fd (9) would hold the lock for as long as it runs,
# and one holding a caller's pipe would keep the caller waiting for EOF.
start() {
  local name=$1 i
  shift
  rm -f "$STATE/pids/$name.pid"
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c '
    echo $$ >"$1"; shift
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}; [[ $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null
    done
    exec nohup "$@"' _ \
    "$STATE/pids/$name.pid" "${BIN_OF[$name]}" "$@" \
    >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  for ((i = 0; i < 50; i++)); do
    [[ -s $STATE/pids/$name.pid ]] && pid_of "$name" >/dev/null && return 0
    sleep 0.1
  done
  die "$name did not start; last log lines:
$(tail -n 20 "$STATE/logs/$name.log" 2>/dev/null)"
}

# wait_for <component> <what> <command...>: poll until the command succeeds;
# fail with the component's log tail if it exits or times out.
wait_for() {
  local name=$1 what=$2 deadline=$((SECONDS + TIMEOUT))
  shift 2
  until "$@"; do
    pid_of "$name" >/dev/null || die "$name exited while waiting for $what; last log lines:
$(tail -n 30 "$STATE/logs/$name.log")"
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what; last $name log lines:
$(tail -n 30 "$STATE/logs/$name.log")"
    sleep 0.2
  done
}
api_ok() { [[ $(api_code "$1") == 200 ]]; }

log "starting etcd on 127.0.0.1:$ETCD_PORT"
start etcd \
  --name=ottoscaler --data-dir="$STATE/etcd-data" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="ottoscaler=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --log-level=warn
wait_for etcd "etcd /health" http_ok "http://127.0.0.1:$ETCD_PORT/health"

# Apiserver notes:
# - ServiceAccount admission off: no serviceaccount controller creates the default
#   service account, so every pod would be rejected.
# - TaintNodesByCondition admission off: it adds node.kubernetes.io/not-ready:
#   NoSchedule to every new Node, and only the controller-manager's node
#   lifecycle controller (not run here) would remove it, so nothing would ever schedule.
# - --kubelet-preferred-address-types=InternalIP: reach kwok at 127.0.0.1 (the
#   default order tries Hostname first, which is "localhost" and may be ::1).
# - --endpoint-reconciler-type=none: no kubernetes Service endpoint upkeep.
log "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
start kube-apiserver \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
  --cert-dir="$PKI" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --service-account-issuer="https://127.0.0.1:$APISERVER_PORT" \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=RBAC \
  --disable-admission-plugins=ServiceAccount,TaintNodesByCondition \
  --endpoint-reconciler-type=none --allow-privileged=true \
  --kubelet-preferred-address-types=InternalIP \
  --kubelet-certificate-authority="$PKI/ca.crt"
wait_for kube-apiserver "kube-apiserver /readyz" api_ok "https://127.0.0.1:$APISERVER_PORT/readyz"
# /readyz does not wait for the system namespaces; pods go to "default".
wait_for kube-apiserver "namespace default" api_ok "https://127.0.0.1:$APISERVER_PORT/api/v1/namespaces/default"

log "starting kube-scheduler (health on https://127.0.0.1:$SCHEDULER_PORT)"
start kube-scheduler \
  --kubeconfig="$STATE/admin.kubeconfig" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT"
wait_for kube-scheduler "kube-scheduler /healthz" http_ok "https://127.0.0.1:$SCHEDULER_PORT/healthz"

# Only the controllers Ottoscaler's tests need: resourcequota (usage in the
# quota status, released when pods end), garbagecollector (ownerReferences)
# and namespace (a deleted namespace is emptied and goes away). No service
# account tokens: each controller uses the admin kubeconfig itself.
log "starting kube-controller-manager (health on https://127.0.0.1:$CONTROLLER_MANAGER_PORT)"
start kube-controller-manager \
  --kubeconfig="$STATE/admin.kubeconfig" --leader-elect=false \
  --controllers=resourcequota,garbagecollector,namespace \
  --use-service-account-credentials=false \
  --bind-address=127.0.0.1 --secure-port="$CONTROLLER_MANAGER_PORT"
wait_for kube-controller-manager "kube-controller-manager /healthz" \
  http_ok "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz"

# The Logs CRD (logs-crd.json, trimmed from sigs.k8s.io/kwok@v0.8.0
# kustomize/crd/bases/kwok.x-k8s.io_logs.yaml) must exist before kwok starts
# with --enable-crds=Logs. A kind is either in --config or a CRD, never both,
# which is why the cluster-wide default (ClusterLogs) stays in --config.
log "installing the kwok Logs CRD"
api -o /dev/null -X POST -H 'Content-Type: application/json' \
  "https://127.0.0.1:$APISERVER_PORT/apis/apiextensions.k8s.io/v1/customresourcedefinitions" \
  --data-binary @"$SCRIPT_DIR/logs-crd.json"
logs_crd_served() { api -o /dev/null "https://127.0.0.1:$APISERVER_PORT/apis/kwok.x-k8s.io/v1alpha1/logs" 2>/dev/null; }
wait_for kube-apiserver "the Logs CRD to be served" logs_crd_served

# KWOK notes:
# - KWOK_WORKDIR: kwok always loads ~/.kwok/kwok.yaml (if it exists) in
#   addition to --config; pointing its work dir into the state dir keeps a
#   user's file out.
# - --cidr: pod IPs; the default 10.0.0.0/24 overlaps the service range.
# - --node-port must equal the --server-address port: node-initialize writes
#   it as the node's kubelet port (otherwise pods/log has nowhere to go).
#   --node-ip / --node-name fill every node's InternalIP / Hostname.
# - The server speaks TLS and plain HTTP on one port; with no --tls-* files
#   it would use a throwaway self-signed cert.
# - Leases (--node-lease-duration-seconds) are left off: with no node
#   lifecycle controller nothing reads them, and they cost API writes.
log "starting kwok (kubelet-like server on 127.0.0.1:$KWOK_PORT)"
KWOK_WORKDIR="$STATE/kwok-workdir" start kwok \
  --kubeconfig="$STATE/admin.kubeconfig" \
  --manage-all-nodes=true \
  --config="$STAGES" --config="$STATE/kwok-logs.yaml" \
  --enable-crds=Logs \
  --cidr=10.244.0.0/16 \
  --node-ip=127.0.0.1 --node-name=localhost --node-port="$KWOK_PORT" \
  --server-address="127.0.0.1:$KWOK_PORT" \
  --tls-cert-file="$PKI/kwok.crt" --tls-private-key-file="$PKI/kwok.key"
wait_for kwok "kwok /healthz" http_ok "http://127.0.0.1:$KWOK_PORT/healthz"

# --- nodes ---------------------------------------------------------------------------

log "creating $NODES simulated node(s)"
for ((i = 0; i < NODES; i++)); do
  # node.json: the kwok.x-k8s.io/node annotation marks the node as fake (kwok
  # manages all nodes here anyway); capacity is set on create and kept by
  # node-initialize.
  NODE_NAME="kwok-node-$i"
  code="$(render "$SCRIPT_DIR/node.json" NODE_NAME | api_code -X POST -H 'Content-Type: application/json' \
    "https://127.0.0.1:$APISERVER_PORT/api/v1/nodes" --data-binary @-)"
  [[ $code == 201 || $code == 409 ]] || die "creating node $NODE_NAME: HTTP $code"
done

node_ready() {
  local body # not `api | grep -q`: grep's early exit would SIGPIPE curl and pipefail
  body="$(api "https://127.0.0.1:$APISERVER_PORT/api/v1/nodes/$1" 2>/dev/null)" || return 1
  # The apiserver pretty-prints JSON for curl's User-Agent: compare without whitespace.
  body="$(tr -d '[:space:]' <<<"$body")"
  [[ $body == *'"type":"Ready","status":"True"'* ]]
}
for ((i = 0; i < NODES; i++)); do
  wait_for kwok "node kwok-node-$i to become Ready" node_ready "kwok-node-$i"
done

cp "$STATE/admin.kubeconfig" "$KUBECONFIG_OUT.tmp" && mv -f "$KUBECONFIG_OUT.tmp" "$KUBECONFIG_OUT"
healthy || die "started, but the health check still fails"
STARTED_OK=1
log "up"
print_usage

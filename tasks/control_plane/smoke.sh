#!/usr/bin/env bash
# End-to-end check of the local control plane started by up.sh, with curl
# against the apiserver (no kubectl). Needs curl and jq. Creates pods in
# namespace default (names smoke-*), checks them, deletes them. Exit 0 = all
# checks passed.
#
#   1. managed-by=ottoscaler pod, sim-duration 2s, exit code 0: scheduled by
#      kube-scheduler onto a kwok node, Running, then Succeeded ~2s later,
#      container terminated exitCode 0 reason Completed
#   2. same with exit code 3: Failed, exitCode 3, reason Error
#   3. impossible nodeSelector: stays Pending, PodScheduled=False/Unschedulable
#   4. no annotations: default run of 1s, Succeeded
#   5. pods/log through the apiserver: from the shared default log file, and
#      from a per-pod file named by a kwok Logs object
#   6. graceful delete of a Running pod: gone within seconds (pod-delete stage)
# shellcheck disable=SC2015 # pass/fail always return 0
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
DEV_DIR="${OTTOSCALER_DEV_DIR:-$REPO_ROOT/.dev}"
ENV_FILE="$DEV_DIR/control-plane/env"

command -v jq >/dev/null 2>&1 || { echo "smoke: jq is required" >&2; exit 2; }
[[ -r $ENV_FILE ]] || { echo "smoke: $ENV_FILE missing; run up.sh first" >&2; exit 2; }
# shellcheck source=/dev/null
source "$ENV_FILE"

NS=default
API="$OTTOSCALER_APISERVER/api/v1/namespaces/$NS"
SUFFIX="$(date +%s)-$RANDOM"
FAILS=0
CREATED=()

api() {
  curl -sS --max-time 10 --cacert "$OTTOSCALER_CA_CERT" --cert "$OTTOSCALER_CLIENT_CERT" \
    --key "$OTTOSCALER_CLIENT_KEY" "$@"
}
pass() { printf 'PASS  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILS=$((FAILS + 1)); }
now_ms() { date +%s%3N; }

cleanup() {
  local p
  for p in "${CREATED[@]}"; do
    api -o /dev/null -X DELETE "$API/pods/$p?gracePeriodSeconds=0" || true
    api -o /dev/null -X DELETE "$OTTOSCALER_APISERVER/apis/kwok.x-k8s.io/v1alpha1/namespaces/$NS/logs/$p" 2>/dev/null || true
  done
  rm -f "$OTTOSCALER_POD_LOG_DIR"/smoke-*.log
}
trap cleanup EXIT

# create_pod <name> <annotations-json> [nodeSelector-json]
create_pod() {
  local name=$1 ann=$2 sel=${3:-null} body code
  body="$(jq -n --arg n "$name" --argjson a "$ann" --argjson s "$sel" '{
    apiVersion: "v1", kind: "Pod",
    metadata: {name: $n, labels: {"managed-by": "ottoscaler"}, annotations: $a},
    spec: ({restartPolicy: "Never", terminationGracePeriodSeconds: 30,
            containers: [{name: "worker", image: "busybox", command: ["sh", "-c", "true"]}]}
           + (if $s == null then {} else {nodeSelector: $s} end))}')"
  code="$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "$API/pods" --data-binary "$body")"
  [[ $code == 201 ]] || { fail "create pod $name: HTTP $code"; return 1; }
  CREATED+=("$name")
}

get_pod() { api "$API/pods/$1"; }

# follow_phases <name> <timeout-s>: poll every 100 ms until Succeeded/Failed;
# prints "<ms since start> <phase> <nodeName>" on each change.
follow_phases() {
  local name=$1 deadline=$((SECONDS + $2)) start last="" cur
  start=$(now_ms)
  while ((SECONDS < deadline)); do
    cur="$(get_pod "$name" | jq -r '"\(.status.phase) \(.spec.nodeName // "-")"')"
    if [[ $cur != "$last" ]]; then
      echo "$(($(now_ms) - start)) $cur"
      last=$cur
    fi
    [[ $cur == Succeeded* || $cur == Failed* ]] && return 0
    sleep 0.1
  done
  return 1
}

echo "== smoke test against $OTTOSCALER_APISERVER"
echo "nodes: $(api "$OTTOSCALER_APISERVER/api/v1/nodes" | jq -r '[.items[] | "\(.metadata.name)(\(.status.conditions[] | select(.type=="Ready") | .status))"] | join(" ")')"

# --- 1. exit 0 ---------------------------------------------------------------------
P1="smoke-ok-$SUFFIX"
create_pod "$P1" '{"ottoscaler.io/sim-duration":"2s","ottoscaler.io/sim-exit-code":"0"}'
if trace="$(follow_phases "$P1" 30)"; then
  printf '      %s\n' "${trace//$'\n'/$'\n      '}"
  pod="$(get_pod "$P1")"
  node="$(jq -r .spec.nodeName <<<"$pod")"
  sched="$(jq -r '.status.conditions[] | select(.type=="PodScheduled") | .status' <<<"$pod")"
  [[ $node == kwok-node-* && $sched == True ]] && pass "$P1 scheduled to $node (PodScheduled=True)" ||
    fail "$P1 node=$node PodScheduled=$sched"
  grep -q ' Running ' <<<"$trace" && pass "$P1 went Running" || fail "$P1 never seen Running"
  run_ms="$(awk '$2=="Running"{r=$1} $2=="Succeeded"{s=$1} END{print (r==""||s=="") ? -1 : s-r}' <<<"$trace")"
  ((run_ms >= 1800 && run_ms <= 4000)) && pass "$P1 Running -> Succeeded after ${run_ms} ms (sim-duration 2s)" ||
    fail "$P1 Running -> Succeeded took ${run_ms} ms, expected ~2000"
  cs="$(jq -c '.status.containerStatuses[0] | {ready, exitCode: .state.terminated.exitCode, reason: .state.terminated.reason, running: .state.running}' <<<"$pod")"
  [[ $cs == '{"ready":false,"exitCode":0,"reason":"Completed","running":null}' ]] &&
    pass "$P1 containerStatuses: $cs" || fail "$P1 containerStatuses: $cs"
else
  fail "$P1 did not finish in 30s: $(get_pod "$P1" | jq -c .status)"
fi

# --- 2. exit 3 ---------------------------------------------------------------------
P2="smoke-fail-$SUFFIX"
create_pod "$P2" '{"ottoscaler.io/sim-duration":"500ms","ottoscaler.io/sim-exit-code":"3"}'
if trace="$(follow_phases "$P2" 30)"; then
  pod="$(get_pod "$P2")"
  res="$(jq -c '{phase: .status.phase, exitCode: .status.containerStatuses[0].state.terminated.exitCode, reason: .status.containerStatuses[0].state.terminated.reason}' <<<"$pod")"
  [[ $res == '{"phase":"Failed","exitCode":3,"reason":"Error"}' ]] && pass "$P2 $res" || fail "$P2 $res"
else
  fail "$P2 did not finish in 30s: $(get_pod "$P2" | jq -c .status)"
fi

# --- 3. unschedulable --------------------------------------------------------------
P3="smoke-pending-$SUFFIX"
create_pod "$P3" '{}' '{"ottoscaler.io/no-such-node":"true"}'
sleep 5
pod="$(get_pod "$P3")"
res="$(jq -c '{phase: .status.phase, node: .spec.nodeName, scheduled: (.status.conditions // [] | map(select(.type=="PodScheduled")) | .[0] | {status, reason})}' <<<"$pod")"
[[ $res == '{"phase":"Pending","node":null,"scheduled":{"status":"False","reason":"Unschedulable"}}' ]] &&
  pass "$P3 after 5s: $res; message: $(jq -r '.status.conditions[] | select(.type=="PodScheduled") | .message' <<<"$pod")" ||
  fail "$P3 after 5s: $res"

# --- 4. defaults ---------------------------------------------------------------------
P4="smoke-default-$SUFFIX"
create_pod "$P4" '{}'
if trace="$(follow_phases "$P4" 30)"; then
  run_ms="$(awk '$2=="Running"{r=$1} $2=="Succeeded"{s=$1} END{print (r==""||s=="") ? -1 : s-r}' <<<"$trace")"
  phase="$(get_pod "$P4" | jq -r .status.phase)"
  [[ $phase == Succeeded ]] && ((run_ms >= 800 && run_ms <= 3000)) &&
    pass "$P4 (no annotations) Succeeded, Running -> Succeeded ${run_ms} ms (default 1s)" ||
    fail "$P4 phase=$phase run_ms=$run_ms"
else
  fail "$P4 did not finish in 30s"
fi

# --- 5. logs -------------------------------------------------------------------------
ts() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
marker="smoke-$SUFFIX"
printf '%s stdout F hello from %s\n%s stderr F second line %s\n' "$(ts)" "$marker" "$(ts)" "$marker" \
  >>"$OTTOSCALER_POD_LOG_FILE"
out="$(api "$API/pods/$P1/log")"
grep -q "hello from $marker" <<<"$out" && grep -q "second line $marker" <<<"$out" &&
  pass "GET pods/$P1/log (default ClusterLogs file): $(grep -c . <<<"$out") line(s), incl. ours" ||
  fail "GET pods/$P1/log: $(head -c 300 <<<"$out")"
out="$(api "$API/pods/$P1/log?tailLines=1")"
[[ $out == "second line $marker" ]] && pass "tailLines=1 -> '$out'" || fail "tailLines=1 -> '$out'"

perpod="$OTTOSCALER_POD_LOG_DIR/$P2.log"
printf '%s stdout F only for %s\n' "$(ts)" "$P2" >"$perpod"
code="$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  "$OTTOSCALER_APISERVER/apis/kwok.x-k8s.io/v1alpha1/namespaces/$NS/logs" --data-binary "$(jq -n --arg n "$P2" --arg f "$perpod" \
    '{apiVersion: "kwok.x-k8s.io/v1alpha1", kind: "Logs", metadata: {name: $n}, spec: {logs: [{logsFile: $f}]}}')")"
[[ $code == 201 ]] || fail "create Logs $P2: HTTP $code"
out=""
for _ in $(seq 50); do # kwok learns about the Logs object through a watch
  out="$(api "$API/pods/$P2/log")" || true
  [[ $out == "only for $P2" ]] && break
  sleep 0.1
done
[[ $out == "only for $P2" ]] && pass "GET pods/$P2/log (per-pod Logs object) -> '$out'" || fail "per-pod log -> '$out'"
# follow=true never ends on its own (KWOK keeps tailing): expect curl's timeout.
t0=$(now_ms)
out="$(curl -sS --max-time 2 --cacert "$OTTOSCALER_CA_CERT" --cert "$OTTOSCALER_CLIENT_CERT" \
  --key "$OTTOSCALER_CLIENT_KEY" "$API/pods/$P2/log?follow=true" 2>/dev/null)" && rc=0 || rc=$?
[[ $rc == 28 && $out == "only for $P2" ]] &&
  pass "follow=true streamed '$out' and was still open after $(($(now_ms) - t0)) ms (pod Failed): reader must stop it" ||
  fail "follow=true rc=$rc out='$out'"

# --- 6. graceful delete of a Running pod --------------------------------------------
P6="smoke-delete-$SUFFIX"
create_pod "$P6" '{"ottoscaler.io/sim-duration":"1h"}'
for _ in $(seq 100); do
  [[ $(get_pod "$P6" | jq -r .status.phase) == Running ]] && break
  sleep 0.1
done
t0=$(now_ms)
api -o /dev/null -X DELETE "$API/pods/$P6"
gone=""
for _ in $(seq 100); do
  if [[ $(api -o /dev/null -w '%{http_code}' "$API/pods/$P6") == 404 ]]; then gone=1; break; fi
  sleep 0.1
done
[[ -n $gone ]] && pass "$P6 (Running, 1h) deleted with grace 30s: gone after $(($(now_ms) - t0)) ms" ||
  fail "$P6 still present 10s after DELETE: $(get_pod "$P6" | jq -c '{deletionTimestamp: .metadata.deletionTimestamp, phase: .status.phase}')"

echo "== $FAILS failure(s)"
((FAILS == 0))

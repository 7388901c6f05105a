#!/usr/bin/env bash
# Build (once) and cache the gRPC client tools that Ottoscaler's reflection test
# uses: grpcurl and grpc-health-probe. Both use the strict Go protobuf runtime,
# so they reject descriptors that protoc would never produce (see
# mod/grpc/descriptors.ts and https://github.com/fullstorydev/grpcurl/issues/519).
#
# Both are built from the Go module proxy with `go install`; nothing is written
# into the repository. The result lives in a version-keyed cache directory:
#   ${OTTOSCALER_CACHE:-$HOME/.cache/ottoscaler}/bin/grpcurl-<ver>-grpc-health-probe-<ver>/
# Progress goes to stderr; the only thing printed on stdout is that directory.
#
# Environment:
#   GRPCURL_VERSION, GRPC_HEALTH_PROBE_VERSION  override the pinned versions below
#   OTTOSCALER_CACHE     cache root (default $HOME/.cache/ottoscaler)
#   OTTOSCALER_GO_JOBS   go build -p value (default 2; set 1 to save memory)
#
# Safe to re-run and to run concurrently: a complete cache entry is reused; the
# build happens in a temp dir under the cache root, under a lock, and is renamed
# into place only when both binaries exist and run, so an interrupted run never
# leaves a half cache.
set -euo pipefail

GRPCURL_VERSION="${GRPCURL_VERSION:-v1.9.4}"
GRPC_HEALTH_PROBE_VERSION="${GRPC_HEALTH_PROBE_VERSION:-v0.4.63}"
GO_JOBS="${OTTOSCALER_GO_JOBS:-2}"

BINARIES=(grpcurl grpc-health-probe)

# log, die and the build-once cache helpers (reuse_or_lock) are the control plane's.
LOG_NAME=grpc-tools-build
# shellcheck source=../control_plane/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../control_plane/lib.sh"


for v in "$GRPCURL_VERSION" "$GRPC_HEALTH_PROBE_VERSION"; do
  [[ $v =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "versions must be releases like v1.9.4 (got '$v')"
done
[[ $GO_JOBS =~ ^[1-9][0-9]*$ ]] || die "OTTOSCALER_GO_JOBS must be a positive integer"

CACHE_ROOT="${OTTOSCALER_CACHE:-$HOME/.cache/ottoscaler}"
BIN_ROOT="$CACHE_ROOT/bin"
BIN_DIR="$BIN_ROOT/grpcurl-${GRPCURL_VERSION}-grpc-health-probe-${GRPC_HEALTH_PROBE_VERSION}"

is_complete() { bins_complete "$1" "${BINARIES[@]}"; }

reuse_or_lock "$BIN_DIR" "$BIN_ROOT/.grpc-tools-build.lock" "${BINARIES[@]}"

# We hold the lock, so any leftover build dir is from a killed run.
for stale in "$BIN_ROOT"/.grpc-tools-build-*; do
  [[ -d $stale ]] || continue
  log "removing stale build dir $stale"
  rm -rf -- "$stale"
done

# Same filesystem as BIN_DIR so the final rename is atomic.
WORK="$(mktemp -d "$BIN_ROOT/.grpc-tools-build-XXXXXX")"
trap 'rm -rf -- "$WORK"' EXIT
OUT="$WORK/out"
mkdir -p "$OUT"

NICE=()
command -v nice >/dev/null 2>&1 && NICE=(nice -n 19)

export GOWORK=off CGO_ENABLED=0

TIMES=()
start_all=$(date +%s)
# Neither module has replace directives, so `go install pkg@version` works.
for spec in \
  "grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION" \
  "grpc-health-probe github.com/grpc-ecosystem/grpc-health-probe@$GRPC_HEALTH_PROBE_VERSION"; do
  name="${spec%% *}"
  pkg="${spec#* }"
  start=$(date +%s)
  log "+ go install $pkg"
  # -X main.version: grpcurl's -version prints it (its release builds set it so);
  # grpc-health-probe has no such variable and reports the module version Go
  # records in the binary.
  env GOBIN="$OUT" GOFLAGS="-buildvcs=false -p=$GO_JOBS" "${NICE[@]}" \
    go install -trimpath -ldflags "-s -w -X main.version=${pkg##*@}" "$pkg" >&2 ||
    die "go install $pkg failed (is the version served by \$GOPROXY=$(go env GOPROXY)?)"
  TIMES+=("$name=$(($(date +%s) - start))")
  log "$name: done in $(($(date +%s) - start))s"
done

# --- verify, then publish atomically ----------------------------------------
for b in "${BINARIES[@]}"; do
  [[ -x $OUT/$b ]] || die "$b was not produced"
  out="$("$OUT/$b" -version 2>&1)" || die "$OUT/$b -version failed: $out"
  log "ok: $b $(du -h "$OUT/$b" | cut -f1) -- $(head -n1 <<<"$out")"
done

{
  echo "grpcurl=$GRPCURL_VERSION grpc-health-probe=$GRPC_HEALTH_PROBE_VERSION"
  echo "go=$(go env GOVERSION) built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "build seconds (total $(($(date +%s) - start_all))):"
  printf '%s\n' "${TIMES[@]}"
} >"$OUT/BUILD-INFO.txt"

if [[ -e $BIN_DIR ]]; then
  log "replacing incomplete cache dir $BIN_DIR"
  mv -T -- "$BIN_DIR" "$WORK/old"
fi
mv -T -- "$OUT" "$BIN_DIR"
log "cached: $BIN_DIR"
echo "$BIN_DIR"
